// failover-agent: flags and wiring only.
#include <malloc.h>
#include <pthread.h>

#include <csignal>
#include <filesystem>

#include "CLI/CLI.hpp"
#include "agent/agent_config.h"
#include "agent/agent_service.h"
#include "agent/dbus_systemd_manager.h"
#include "agent/journal_failures.h"
#include "agent/restic_snapshots.h"
#include "agent/metrics.h"
#include "agent/metrics_prometheus.h"
#include "common/metrics_exposer.h"
#include "common/probe_runner.h"
#include "failover/logging.h"
#include "failover/tls.h"
#include "failover/version.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "prometheus/exposer.h"

int main(int argc, char** argv) {
  using namespace failover;
  // Two malloc arenas, not 8 per core: gRPC's threads would otherwise each grow an arena of their
  // own, resident at idle (issue 11). As MALLOC_ARENA_MAX=2 in the unit, also when started by hand.
  mallopt(M_ARENA_MAX, 2);
  CLI::App app{"failover-agent: controls this host's systemd units for the failover coordinator"};
  std::string config_path = "/etc/failover/agent.yaml";
  std::string listen_override;
  app.add_option("-c,--config", config_path, "agent config (YAML)");
  app.add_option("--listen", listen_override, "override the config's listen address");
  std::string metrics_listen = "127.0.0.1:9465";
  bool metrics_allow_remote = false;
  app.add_option("--metrics-listen", metrics_listen, "serve Prometheus /metrics on host:port (default 127.0.0.1:9465; "
                 "\"\" = off); a non-loopback address needs --metrics-allow-remote");
  app.add_flag("--metrics-allow-remote", metrics_allow_remote, "allow --metrics-listen on a non-loopback address");
  app.set_version_flag("--version", std::string("failover-agent ") + kVersion);
  CLI11_PARSE(app, argc, argv);
  const bool metrics_explicit = app.count("--metrics-listen") > 0;
  // SIGTERM/SIGINT are taken by sigwait below; blocked before any thread starts, so every thread
  // inherits the mask and none is interrupted by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  auto log = GetLogger("agent");

  auto config = agent::LoadAgentConfig(config_path);
  if (!config.ok()) {
    log->error("{}", config.status().message());
    return 2;
  }
  if (!listen_override.empty()) {
    config->listen = listen_override;
    if (absl::Status s = agent::CheckAgentConfig(*config, config_path); !s.ok()) {
      log->error("{}", s.message());
      return 2;
    }
  }
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  if (!config->insecure_plaintext) {
    auto c = MakeServerCredentials(config->tls);
    if (!c.ok()) {
      log->error("{}", c.status().message());
      return 2;
    }
    creds = *c;
  }
  auto systemd = agent::DbusSystemdManager::Create();
  if (!systemd.ok()) {
    log->error("{}", systemd.status().message());
    return 1;
  }
  if (absl::Status s = agent::CheckMetricsListen(metrics_listen, metrics_allow_remote); !s.ok()) {
    log->error("{}", s.message());
    return 2;
  }
  agent::PrometheusMetricsSink metrics;
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!metrics_listen.empty()) {
    auto e = ServeMetrics(metrics_listen, "--metrics-listen", "127.0.0.1:9465", metrics.registry());
    if (!e.ok() && metrics_explicit) {
      log->error("{}", e.status().message());
      return 2;
    }
    if (!e.ok()) log->warn("{} (the default; metrics are off)", e.status().message());
    else exposer = std::move(*e);
    if (exposer) log->info("serving /metrics on http://{}/metrics", metrics_listen);
  }
  (*systemd)->set_metrics(&metrics);
  agent::MeteredSystemdManager metered_systemd(systemd->get(), &metrics);
  agent::JournalUnitFailures failures;
  agent::ResticSnapshots restic(config->restic_repositories);
  LocalProbeRunner local_probes(config->host, config->secrets, systemd->get(), RealClock::Get(), {&failures, &restic});
  agent::MeteredProbeRunner probes(&local_probes, &metrics);
  std::string lease_file;
  if (!config->state_dir.empty()) {
    std::filesystem::create_directories(config->state_dir);
    lease_file = config->state_dir + "/lease";
  }
  agent::HostLease lease(RealClock::Get(), lease_file);
  agent::AuditLog audit(config->audit_log);
  agent::AgentService service(*config, &metered_systemd, &probes, &lease, &audit);
  service.set_metrics(&metrics);

  // Before serving: a request must not overwrite what a killed predecessor left held.
  service.RestorePersistedHolds();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(config->listen, creds, &port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(1 << 20);  // requests are small; refuse big ones early
  agent::ApplyAgentServerOptions(&builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    log->error("cannot listen on {}", config->listen);
    return 1;
  }
  service.StartLeaseWatcher();
  log->info("host {} listening on {} (port {}, {}), {} allowlist pattern(s)", config->host, config->listen, port,
            config->insecure_plaintext ? "PLAINTEXT" : "mTLS", config->allowlist.patterns().size());

  malloc_trim(0);  // start-up's freed heap (config, certificates, descriptors) back to the system
  int sig = 0;
  sigwait(&stop_signals, &sig);  // asleep until SIGTERM/SIGINT: no polling at idle
  log->info("shutting down: finishing running steps and starting held units first");
  service.Drain(std::chrono::seconds(100));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  StopMetrics(std::move(exposer), metrics_listen);  // at once: a restarting agent's port is free sooner
  return 0;
}
