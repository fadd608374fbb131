// failoverctl chaos: rounds of a reproducible random kill among the allowed units, each recovery measured.
#include <iostream>

#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/common.h"
#include "failover/kill_signal.h"

namespace failover::cli {

void AddFaultFlags(CLI::App* cmd, RunFlags* f);  // inject.cc

void AddChaosFlags(CLI::App* cmd, ChaosFlags* f) {
  cmd->add_option("--services", f->run.services, "services whose units may be picked, comma separated (default: all)");
  cmd->add_option("--rounds", f->rounds, "rounds, one kill each (default 1, at most 100)");
  cmd->add_option("--seed", f->seed, "PRNG seed: the same seed and config give the same picks (default: random, reported)");
  cmd->add_option("--max-down", f->max_down, "never more than this many units down at once (default 1)");
  cmd->add_option("--signal", f->signal, "KILL (default), TERM or ABRT")
      ->check(CLI::IsMember({"KILL", "TERM", "ABRT", "kill", "term", "abrt"}));
  cmd->add_option("--recover-deadline-ms", f->recover_deadline_ms,
                  "how long systemd's Restart= gets per round before the service is failed over (default 10000)");
  cmd->add_option("--pause-ms", f->pause_ms, "pause between rounds, milliseconds (default 0)");
  AddFaultFlags(cmd, &f->run);
}

int RunChaos(const GlobalOptions& g, const ChaosFlags& f) {
  auto signal = ParseKillSignal(f.signal);
  if (!signal.ok()) {
    std::cerr << "failoverctl chaos: " << signal.status().message() << "\n";
    return kExitUsage;
  }
  v1::RunRequest base;
  if (!BuildRunRequest(f.run, &base)) return kExitUsage;
  v1::ChaosRunRequest req;
  req.set_config_yaml(base.config_yaml());
  req.set_config_path(base.config_path());
  req.set_api_base(base.api_base());
  req.set_api_token(base.api_token());
  for (const auto& s : base.services()) req.add_services(s);
  req.set_rounds(f.rounds);
  req.set_seed(f.seed);
  req.set_max_down(f.max_down);
  req.set_signal(KillSignalToWire(*signal));
  req.set_execute(f.run.execute);
  req.set_recover_deadline_ms(f.recover_deadline_ms);
  req.set_pause_ms(f.pause_ms);
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_s));
  auto reader = stub->Chaos(&ctx, req);
  return FollowRun(g, f.run, std::move(stub), std::move(reader));
}

}  // namespace failover::cli
