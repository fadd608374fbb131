// failoverctl inject: makes one allowlisted unit fail on purpose and reports its recovery (MTTR).
#include <iostream>

#include "cli/common.h"
#include "failover/kill_signal.h"

namespace failover::cli {
namespace {

void AddCommonFaultFlags(CLI::App* cmd, RunFlags* f) {
  cmd->add_option("-c,--config", f->config_path, "failover config (YAML); default: the coordinator's own");
  cmd->add_flag("--execute", f->execute, "kill for real (default: dry run, the agent only says what it would do)");
  cmd->add_option("--api-base", f->api_base, "this run's API_BASE for the global health check (see run --api-base)");
  cmd->add_option("--token-file", f->token_file, "file holding the token for --api-base (default: $PANEL_TOKEN)");
  cmd->add_option("-o,--output", f->output, "format on stdout: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--json", f->json, "same as -o json");
}

}  // namespace

void AddFaultFlags(CLI::App* cmd, RunFlags* f) { AddCommonFaultFlags(cmd, f); }

void AddInjectFlags(CLI::App* cmd, InjectFlags* f) {
  cmd->add_option("--fail", f->fail, "the unit to fail and its host: UNIT@HOST (e.g. sls-bot.service@api)")->required();
  cmd->add_option("--signal", f->signal, "KILL (default), TERM or ABRT")
      ->check(CLI::IsMember({"KILL", "TERM", "ABRT", "kill", "term", "abrt"}));
  cmd->add_flag("--then-failover", f->then_failover, "after the unit is back, run the failover of its service");
  cmd->add_option("--recover-deadline-ms", f->recover_deadline_ms,
                  "how long systemd's Restart= gets to bring the unit back healthy before its service is failed over "
                  "(default 10000)");
  AddCommonFaultFlags(cmd, &f->run);
}

int RunInject(const GlobalOptions& g, const InjectFlags& f) {
  const size_t at = f.fail.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 == f.fail.size()) {
    std::cerr << "failoverctl inject: --fail \"" << f.fail << "\": use UNIT@HOST, e.g. sls-bot.service@api\n";
    return kExitUsage;
  }
  auto signal = ParseKillSignal(f.signal);
  if (!signal.ok()) {
    std::cerr << "failoverctl inject: " << signal.status().message() << "\n";
    return kExitUsage;
  }
  v1::RunRequest base;
  if (!BuildRunRequest(f.run, &base)) return kExitUsage;
  v1::ChaosInjectRequest req;
  req.set_config_yaml(base.config_yaml());
  req.set_config_path(base.config_path());
  req.set_api_base(base.api_base());
  req.set_api_token(base.api_token());
  req.set_unit(f.fail.substr(0, at));
  req.set_host(f.fail.substr(at + 1));
  req.set_signal(KillSignalToWire(*signal));
  req.set_execute(f.run.execute);
  req.set_then_failover(f.then_failover);
  req.set_recover_deadline_ms(f.recover_deadline_ms);
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_s));
  auto reader = stub->Inject(&ctx, req);
  return FollowRun(g, f.run, std::move(stub), std::move(reader));
}

}  // namespace failover::cli
