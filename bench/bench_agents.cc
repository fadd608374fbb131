// failover-bench-agents: N real agent gRPC servers (AgentService + StepRunner + lease + audit,
// mTLS) on 127.0.0.1:first_port.., each over its own SimulatedSystemd. For make bench-scale only:
// it is not the agent binary and never touches systemd.
#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <memory>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_format.h"
#include "agent/agent_service.h"
#include "bench/simulated_systemd.h"
#include "common/probe_runner.h"
#include "failover/logging.h"
#include "failover/tls.h"

namespace {

using namespace failover;

struct BenchAgent {
  agent::AgentConfig config;
  std::unique_ptr<bench::SimulatedSystemd> systemd;
  std::unique_ptr<LocalProbeRunner> probes;
  std::unique_ptr<agent::HostLease> lease;
  std::unique_ptr<agent::AuditLog> audit;
  std::unique_ptr<agent::AgentService> service;
  std::unique_ptr<grpc::Server> server;
};

void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

// The agent binary's server settings (agent/main.cc), so the bench measures what runs.
std::unique_ptr<grpc::Server> Serve(BenchAgent& a, std::shared_ptr<grpc::ServerCredentials> creds) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(a.config.listen, creds, &port);
  builder.RegisterService(a.service.get());
  builder.SetMaxReceiveMessageSize(1 << 20);
  agent::ApplyAgentServerOptions(&builder);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) return nullptr;
  return server;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"failover-bench-agents: N agent gRPC servers over a simulated systemd (make bench-scale)"};
  int count = 10, first_port = 21000, first_index = 0;
  int stop_ms = 50, start_ms = 50;
  std::string tls_dir, unit = "bench.service", ready_file, name_format = "h%05d.bench.test";
  app.add_option("--count", count, "agents")->check(CLI::Range(1, 20000));
  app.add_option("--first-port", first_port, "agent i listens on 127.0.0.1:first_port+i");
  app.add_option("--first-index", first_index, "agent i is named after first_index+i (several processes)");
  app.add_option("--stop-ms", stop_ms, "simulated stop job time");
  app.add_option("--start-ms", start_ms, "simulated start job time");
  app.add_option("--tls-dir", tls_dir, "ca.pem, agent.pem, agent.key (SAN *.bench.test)")->required();
  app.add_option("--unit", unit, "the one unit every host runs");
  app.add_option("--ready-file", ready_file, "written once every agent listens");
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::warn);  // the agents' audit lines would cost the shared CPU
  RaiseFileLimit();

  TlsFiles tls{tls_dir + "/ca.pem", tls_dir + "/agent.pem", tls_dir + "/agent.key"};
  auto creds = MakeServerCredentials(tls);
  if (!creds.ok()) {
    std::fprintf(stderr, "bench agents: %s\n", std::string(creds.status().message()).c_str());
    return 2;
  }
  auto allow = UnitAllowlist::Create({unit});
  std::vector<std::unique_ptr<BenchAgent>> agents;
  for (int i = 0; i < count; ++i) {
    auto a = std::make_unique<BenchAgent>();
    a->config.host = absl::StrFormat(name_format.c_str(), first_index + i);
    a->config.listen = absl::StrCat("127.0.0.1:", first_port + i);
    a->config.allowlist = *allow;
    a->config.tls = tls;
    a->config.allowed_clients = {"coordinator"};
    a->systemd = std::make_unique<bench::SimulatedSystemd>(
        std::vector<std::string>{unit},
        bench::SimulatedJobTimes{std::chrono::milliseconds(stop_ms), std::chrono::milliseconds(start_ms)},
        RealClock::Get());
    a->probes = std::make_unique<LocalProbeRunner>(a->config.host, std::map<std::string, std::string>{},
                                                   a->systemd.get(), RealClock::Get());
    a->lease = std::make_unique<agent::HostLease>(RealClock::Get(), "");
    a->audit = std::make_unique<agent::AuditLog>("");
    a->service = std::make_unique<agent::AgentService>(a->config, a->systemd.get(), a->probes.get(), a->lease.get(),
                                                       a->audit.get());
    a->server = Serve(*a, *creds);
    if (!a->server) {
      std::fprintf(stderr, "bench agents: cannot listen on %s (agent %d)\n", a->config.listen.c_str(), i);
      return 1;
    }
    a->service->StartLeaseWatcher();
    agents.push_back(std::move(a));
  }
  if (!ready_file.empty()) std::ofstream(ready_file) << count << "\n";
  static std::atomic<bool> stop{false};
  std::signal(SIGTERM, [](int) { stop = true; });
  std::signal(SIGINT, [](int) { stop = true; });
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int jobs = 0;
  for (auto& a : agents) jobs += a->systemd->jobs();
  std::fprintf(stderr, "bench agents: %d simulated jobs\n", jobs);
  std::_Exit(0);  // no graceful shutdown of thousands of servers one by one: the bench is over
}
