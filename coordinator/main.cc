// failover-coordinator: flags and wiring only.
#include <sys/stat.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include "CLI/CLI.hpp"
#include "coordinator/coordinator_service.h"
#include "failover/logging.h"
#include "failover/tls.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

int main(int argc, char** argv) {
  using namespace failover;
  CLI::App app{"failover-coordinator: sequences failovers across hosts' agents"};
  coordinator::CoordinatorOptions options;
  std::string listen = "unix:/run/failover/coordinator.sock";
  TlsFiles tls;
  std::string socket_mode = "0660";
  app.add_option("-c,--config", options.default_config_path, "default failover config (YAML)");
  app.add_option("--listen", listen, "unix:PATH (default) or host:port (TCP requires --tls-*)");
  app.add_option("--socket-mode", socket_mode, "permissions of the unix socket: who may run failovers");
  app.add_option("--reports-dir", options.reports_dir, "where reports go (overrides the config's reports_dir)");
  app.add_option("--state-dir", options.state_dir, "journal of runs (survives a coordinator crash)");
  app.add_option("--tls-ca", tls.ca_file, "CA that signs failoverctl client certificates (TCP only)");
  app.add_option("--tls-cert", tls.cert_file, "server certificate (TCP only)");
  app.add_option("--tls-key", tls.key_file, "server key (TCP only)");
  app.add_option("--allowed-clients", options.allowed_clients,
                 "certificate names allowed to drive the coordinator over TCP (e.g. operator)");
  CLI11_PARSE(app, argc, argv);
  auto log = GetLogger("coordinator");

  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  const bool unix_socket = listen.rfind("unix:", 0) == 0;
  if (!unix_socket) {
    if (!tls.enabled()) {
      log->error("--listen {} is TCP: failoverctl over TCP needs mTLS (--tls-ca, --tls-cert, --tls-key)", listen);
      return 2;
    }
    if (options.allowed_clients.empty()) {
      log->error("--listen {} is TCP: --allowed-clients is required (e.g. --allowed-clients operator): without it "
                 "any certificate of the CA, agents' included, could drive the coordinator", listen);
      return 2;
    }
    auto c = MakeServerCredentials(tls);
    if (!c.ok()) {
      log->error("{}", c.status().message());
      return 2;
    }
    creds = *c;
  } else {
    const std::string path = listen.substr(5);
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    std::filesystem::remove(path, ec);  // a stale socket from a previous process
  }
  if (!options.state_dir.empty()) std::filesystem::create_directories(options.state_dir + "/runs");

  coordinator::CoordinatorService service(options);
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
  std::thread([&service] { service.RecoverInterruptedRuns(); }).detach();

  static std::atomic<bool> stop{false};
  std::signal(SIGTERM, [](int) { stop = true; });
  std::signal(SIGINT, [](int) { stop = true; });
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  log->info("shutting down");
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  return 0;
}
