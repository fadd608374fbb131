// failover-coordinator: flags and wiring only.
#include <malloc.h>
#include <pthread.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "CLI/CLI.hpp"
#include "coordinator/agent_client_factory.h"
#include "coordinator/config_holder.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/history_store.h"
#include "common/metrics_exposer.h"
#include "coordinator/metrics.h"
#include "coordinator/publish_curl_transport.h"
#include "coordinator/run_store.h"
#include "coordinator/curl_webhook_transport.h"
#include "failover/version.h"
#include "failover/logging.h"
#include "failover/tls.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"

namespace {

std::atomic<int> stop{0};  // the signal that asked us to stop (0 = serving)

// SIGTERM, SIGINT and SIGHUP are taken by sigwait in ServeUntilStopped; blocked before any
// thread starts, so every thread inherits the mask.
sigset_t ServeSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}

void InstallSignalHandlers() {
  const sigset_t set = ServeSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

// mTLS for TCP (required), none for a unix socket (its permissions vet callers); null on error.
std::shared_ptr<grpc::ServerCredentials> ListenCredentials(const std::string& listen, const failover::TlsFiles& tls,
                                                           const std::vector<std::string>& allowed_clients,
                                                           spdlog::logger& log) {
  if (listen.rfind("unix:", 0) == 0) {
    const std::string path = listen.substr(5);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::filesystem::remove(path, ec);  // a stale socket from a previous process
    return grpc::InsecureServerCredentials();
  }
  if (!tls.enabled()) {
    log.error("--listen {} is TCP: failoverctl over TCP needs mTLS (--tls-ca, --tls-cert, --tls-key)", listen);
    return nullptr;
  }
  if (allowed_clients.empty()) {
    log.error("--listen {} is TCP: --allowed-clients is required (e.g. --allowed-clients operator): without it "
              "any certificate of the CA, agents' included, could drive the coordinator", listen);
    return nullptr;
  }
  auto c = failover::MakeServerCredentials(tls);
  if (!c.ok()) {
    log.error("{}", c.status().message());
    return nullptr;
  }
  return *c;
}

// The own config is parsed once, at start: a coordinator with a bad or missing config refuses to start.
std::unique_ptr<failover::coordinator::ConfigHolder> LoadOwnConfig(const std::string& path, spdlog::logger& log) {
  if (path.empty()) {
    log.error("--config is required: the coordinator reads its failover config at start (and again on SIGHUP)");
    return nullptr;
  }
  auto holder = failover::coordinator::ConfigHolder::Load(path);
  if (!holder.ok()) {
    log.error("{}", holder.status().message());
    return nullptr;
  }
  return std::move(*holder);
}

// Until SIGTERM/SIGINT; SIGHUP reloads the config (a bad reload keeps the config in use).
void ServeUntilStopped(failover::coordinator::ConfigHolder& holder, spdlog::logger& log) {
  const sigset_t set = ServeSignals();
  while (!stop) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;  // asleep until a signal: no polling at idle
    if (sig != SIGHUP) {
      stop = sig;
      break;
    }
    if (absl::Status s = holder.Reload(); !s.ok())
      log.error("reload of {} failed, keeping the previous config: {}", holder.path(), s.message());
    else
      log.info("reloaded {}", holder.path());
  }
}

// Graceful stop: no new runs; each running run stops at its next safe point, restores what it
// stopped, releases its hosts and writes its report; bounded by --drain-timeout.
// Returns false when the timeout passed first.
bool DrainRuns(failover::coordinator::CoordinatorService& service, double timeout_s, spdlog::logger& log) {
  const std::string sig = stop == SIGINT ? "SIGINT" : "SIGTERM";
  log.info("received {}: refusing new runs, stopping runs in progress (drain timeout {} s)", sig, timeout_s);
  service.Drain("stopped: the coordinator received " + sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  if (service.WaitIdle(deadline)) {
    log.info("every run stopped and restored; shutting down");
    return true;
  }
  log.error("drain timeout ({} s) passed with runs still in progress: their agents restore what they hold when "
            "the lease expires", timeout_s);
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace failover;
  // Two malloc arenas, not 8 per core: gRPC's threads would otherwise each grow an arena of their
  // own, resident at idle (issue 11). As MALLOC_ARENA_MAX=2 in the unit, also when started by hand.
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"failover-coordinator: sequences failovers across hosts' agents"};
  coordinator::CoordinatorOptions options;
  std::string config_path;
  std::string state_dir;
  std::string listen = "unix:/run/failover/coordinator.sock";
  TlsFiles tls;
  std::string socket_mode = "0660";
  app.add_option("-c,--config", config_path, "the failover config (YAML); read at start and on SIGHUP");
  app.add_option("--listen", listen, "unix:PATH (default) or host:port (TCP requires --tls-*)");
  app.add_option("--socket-mode", socket_mode, "permissions of the unix socket: who may run failovers");
  app.add_option("--reports-dir", options.reports_dir, "where reports go (overrides the config's reports_dir)");
  app.add_option("--state-dir", state_dir, "journal of runs (survives a coordinator crash)");
  app.add_option("--tls-ca", tls.ca_file, "CA that signs failoverctl client certificates (TCP only)");
  app.add_option("--tls-cert", tls.cert_file, "server certificate (TCP only)");
  app.add_option("--tls-key", tls.key_file, "server key (TCP only)");
  app.add_option("--allowed-clients", options.allowed_clients,
                 "certificate names allowed to drive the coordinator over TCP (e.g. operator)");
  double drain_timeout_s = 60;
  app.add_option("--drain-timeout", drain_timeout_s, "on SIGTERM/SIGINT, seconds for running runs to stop and restore "
                 "before exiting (default 60; keep it below the unit's TimeoutStopSec)")->check(CLI::PositiveNumber);
  app.set_version_flag("--version", std::string("failover-coordinator ") + kVersion);
  std::string metrics_listen;
  bool metrics_allow_remote = false;
  app.add_option("--metrics-listen", metrics_listen, "serve Prometheus /metrics on host:port (default off); a "
                 "non-loopback address needs --metrics-allow-remote");
  app.add_flag("--metrics-allow-remote", metrics_allow_remote, "allow --metrics-listen on a non-loopback address");
  CLI11_PARSE(app, argc, argv);
  auto log = GetLogger("coordinator");
  if (!metrics_listen.empty() && !metrics_allow_remote && !IsLoopbackOrUnixAddress(metrics_listen)) {
    log->error("--metrics-listen {} is not a loopback address: /metrics tells who runs what and when; keep it on "
               "127.0.0.1 or add --metrics-allow-remote", metrics_listen);
    return 2;
  }
  coordinator::CoordinatorMetrics metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!metrics_listen.empty()) {
    auto e = ServeMetrics(metrics_listen, "--metrics-listen", "127.0.0.1:9464", metrics.registry());
    if (!e.ok()) {
      log->error("{}", e.status().message());
      return 2;
    }
    exposer = std::move(*e);
    log->info("serving /metrics on http://{}/metrics", metrics_listen);
  }
  InstallSignalHandlers();
  const bool unix_socket = listen.rfind("unix:", 0) == 0;
  std::shared_ptr<grpc::ServerCredentials> creds = ListenCredentials(listen, tls, options.allowed_clients, *log);
  if (!creds) return 2;
  std::unique_ptr<coordinator::ConfigHolder> holder = LoadOwnConfig(config_path, *log);
  if (!holder) return 2;
  coordinator::FileRunStore runs(state_dir);
  // The run history (SQLite) beside the journal; an unusable file is reported per run, never stops one.
  std::unique_ptr<coordinator::HistoryStore> history;
  if (!state_dir.empty()) history = std::make_unique<coordinator::HistoryStore>(state_dir + "/history.sqlite");
  if (history) {
    coordinator::HistoryFilter newest;
    newest.limit = 1;
    if (auto probe = history->List(newest); !probe.ok()) log->error("{}", probe.status().message());
  }
  coordinator::HostClaims claims;
  coordinator::GrpcAgentClientFactory agents;
  coordinator::CurlWebhookTransport webhooks;
  coordinator::Notifier notifier(&webhooks);  // outlives the service: end notices flush on exit
  // Report publishing: an outbox in the history, delivered (and retried) by one worker thread.
  coordinator::CurlPublishTransport publish_http;
  std::unique_ptr<coordinator::Publisher> publisher;
  if (history) {
    publisher = std::make_unique<coordinator::Publisher>(
        history.get(), [&holder] { return holder->Get()->publish; }, &publish_http, RealClock::Get());
    publisher->Start();
  }
  coordinator::CoordinatorDeps deps;
  deps.config = holder.get();
  deps.publisher = publisher.get();
  deps.agents = &agents;
  deps.runs = &runs;
  deps.claims = &claims;
  deps.clock = RealClock::Get();
  deps.notifier = &notifier;
  deps.history = history.get();
  deps.on_run_end = [&metrics](const v1::Report& r) { metrics.ObserveRun(r); };
  coordinator::CoordinatorService service(options, deps);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, creds, unix_socket ? nullptr : &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(2 << 20);
  // failoverctl pings every 2 s on quiet streams (a gate can take minutes): allow it.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  builder.AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 5000);  // a stalled TLS peer is dropped after 5 s
  auto server = builder.BuildAndStart();
  if (!server) {
    log->error("cannot listen on {}", listen);
    return 1;
  }
  if (unix_socket) chmod(listen.substr(5).c_str(), static_cast<mode_t>(std::stoul(socket_mode, nullptr, 8)));
  log->info("listening on {}{}", listen, port ? " (port " + std::to_string(port) + ")" : "");
  std::thread([&service] {
    service.RecoverInterruptedRuns();
    malloc_trim(0);  // start-up's and recovery's freed heap back to the system
  }).detach();

  ServeUntilStopped(*holder, *log);
  const bool drained = DrainRuns(service, drain_timeout_s, *log);  // then 3 s for the streams to deliver reports
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
  if (!drained) std::_Exit(1);  // runs still use the service: do not destroy it under them
  StopMetrics(std::move(exposer), metrics_listen);  // at once (civetweb's own stop waits up to 2 s)
  return 0;
}
