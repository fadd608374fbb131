#include "coordinator/run_recovery.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/run_executor.h"
#include "failover/logging.h"

namespace failover::coordinator {

void MarkInterrupted(v1::Report* report) {
  report->set_outcome(v1::RUN_INTERRUPTED);
  std::string running_step;
  for (auto& s : *report->mutable_steps()) {
    if (s.status() == v1::STEP_RUNNING) {
      running_step = s.id();
      s.set_status(v1::STEP_FAILED);
      s.set_reason("interrupted: the coordinator stopped during this step");
    } else if (s.status() == v1::STEP_NOT_RUN) {
      s.set_reason("not run: the coordinator stopped before this step");
    }
  }
  report->set_summary(absl::StrCat("INTERRUPTED: the coordinator stopped during the run",
                                   running_step.empty() ? "" : " (in step " + running_step + ")",
                                   "; the agents finish their step and restore units they held when the lease expires"));
}

void ReconcileWithAgents(const Config& config, AgentClientFactory* agents, Clock* clock, v1::Report* report) {
  std::map<std::string, std::vector<std::string>> units;
  for (const auto& st : report->initial_state()) units[st.host()].push_back(st.unit());
  for (const auto& [host, list] : units) {
    const HostConfig* h = config.FindHost(host);
    if (h == nullptr) continue;
    auto client = agents->Create(config, *h);
    if (!client.ok()) continue;
    v1::GetStateRequest req;
    for (const auto& u : list) req.add_units(u);
    absl::StatusOr<v1::GetStateResponse> st = (*client)->GetState(req);
    for (int wait = 0; wait < 2 && st.ok() && st->held_by_run() == report->run_id(); ++wait) {
      clock->SleepFor(std::chrono::milliseconds(config.defaults.lease_ms / 2));
      st = (*client)->GetState(req);
    }
    if (!st.ok()) {
      report->add_errors(absl::StrCat("reconcile: ", st.status().message()));
      continue;
    }
    AddAgentState(*st, report);
  }
}

int RecoverInterruptedRuns(const RecoveryDeps& deps) {
  int n = 0;
  for (v1::Report report : deps.runs->Interrupted()) {
    MarkInterrupted(&report);
    auto config = deps.config_for(deps.runs->RequestConfig(report.run_id()), report.config_path());
    if (config.ok()) ReconcileWithAgents(*config, deps.agents, deps.clock, &report);
    else report.add_errors(absl::StrCat("reconcile: ", config.status().message()));
    report.set_finished_at_unix_us(deps.clock->NowUnixUs());
    auto written = deps.write_report(config.ok() ? *config : Config{}, &report);
    if (!written.ok()) report.add_errors(std::string(written.status().message()));
    deps.runs->Save(report);
    GetLogger("coordinator")->warn("run {} was interrupted; report {}", report.run_id(),
                                   written.ok() ? *written : "not written");
    ++n;
  }
  return n;
}

}  // namespace failover::coordinator
