// Runs a plan: preflight every agent, execute the steps in order (hosts of a wave in parallel),
// gate each on its probes, apply the failure policy, put back what must not stay down, run the
// final health check, and build the Report. Pure logic over AgentClient, ProbeRunner and Clock.
#pragma once

#include <functional>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "coordinator/config.h"
#include "coordinator/gate_runner.h"
#include "coordinator/planner.h"
#include "failover/agent_client.h"
#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/v1/coordinator.pb.h"

namespace failover::coordinator {

// What a unit event adds for live views (RunEvent.unit_event, operation, probe, skip_reason).
struct UnitTag {
  v1::UnitEventKind kind = v1::UNIT_EVENT_UNSPECIFIED;
  v1::Operation operation = v1::OPERATION_UNSPECIFIED;
  std::string probe, skip_reason;
};

class RunExecutor {
 public:
  using EmitFn = std::function<void(v1::RunEvent)>;
  using SnapshotFn = std::function<void(const v1::Report&)>;

  // `clients`: one per host of the config. `health` runs the coordinator-side health check.
  RunExecutor(const Config& config, const Plan& plan, std::map<std::string, AgentClient*> clients,
              ProbeRunner* health, Clock* clock, EmitFn emit, SnapshotFn snapshot);

  v1::Report Run(const std::string& run_id);

  // Stop hook (thread-safe, any time): the run stops at its next safe point (before the next
  // step; a step in flight finishes on its hosts first), restores what it changed as after a
  // failure (restore policy), and ends RUN_ABORTED with `why` as its summary. Only records the
  // request, so it may be called from the emit callback too.
  void RequestStop(const std::string& why);


 private:
  struct HostStepResult {
    bool ok = false;
    bool reached = false;  // the agent answered at all
    std::string reason;
  };

  void Emit(const std::string& host, const std::string& unit, const std::string& step, const std::string& msg,
            v1::EventSeverity severity, const UnitTag& tag = UnitTag());
  // Reads the units' states and (executed runs) reserves every host; on any refusal releases
  // those reserved and returns false.
  bool Preflight();
  void PreflightHost(const std::string& host, const std::vector<std::string>& units);
  // Fails the run for each unit that was active before it and is not at its end.
  void CheckStayedUp(const std::string& host, const v1::GetStateResponse& now);
  void RunStep(size_t index);
  // Before a step stops instances of a service with an availability budget: its other instances
  // must be healthy now (their gate probes, through their agents). Waits up to BudgetWaitMs
  // (executed runs; a dry run looks once); false with `why` naming the instances otherwise.
  bool WaitForBudget(const PlannedStep& step, std::string* why);
  // host -> healthy now, for every host of `hosts` not in `wave` (one probe attempt each, in parallel).
  std::map<std::string, bool> ProbeOthers(const ServiceConfig& svc, const std::vector<std::string>& wave,
                                          const std::vector<std::string>& hosts);
  // The report's header and planned steps, and the first event.
  void Begin(const std::string& run_id);
  // Outcome and summary once every step, recovery and final check is done.
  void Conclude(bool preflight_ok);
  void OnAgentEvent(const std::string& host, const std::string& step_id, const v1::AgentEvent& e,
                    HostStepResult* r, bool* step_done);
  // Sends `step` (as planned) to one host and records its answers.
  HostStepResult RunOnHost(const PlannedStep& step, const std::string& host);
  void Recover();
  // Reads the host after the last step; plans and runs its recovery steps. A run that has not
  // failed also asks the agent to release the host when every unit that was up is active: then
  // that read is the host's final state (finished_hosts_) and nothing more is asked of the host.
  void RecoverHost(const std::string& host, const std::vector<std::string>& units, const RunOptions& options,
                   bool run_failed);
  // Gates (gate_plan.h): the state before the first step, the stop conditions while the steps
  // run, the state after the last step and the recovery.
  void BeforeGates();
  // RUN_REFUSED when --require-healthy meets a failing pre-flight gate (nothing changed); true then.
  bool RefuseForGates();
  // --force over failing pre-flight gates: recorded in the report and the coordinator's log.
  void RecordForce();
  // Checks every stop condition once; on the first failing one records the trip and asks the run
  // to stop (RequestStop: the abort's safe point and restore). True when one tripped.
  bool CheckStopConditions();
  void Trip(const PlannedGate& gate, const v1::ProbeResult& r);
  void WatchStopConditions();
  void StopWatching(std::thread* watcher);
  void AfterGates();
  // AfterGates in two halves: the probes (no report change), then their verdicts recorded.
  std::vector<v1::ProbeResult> RunAfterGates();
  void RecordAfterGates(std::vector<v1::ProbeResult> results);
  bool RunFailedSoFar();
  // True once a recovery step was sent to any host.
  bool Recovered();
  // Gives back every host reserved at preflight (a refused run holds nothing).
  void ReleaseReserved();
  // The refused run's report: summary, final state = initial state, last event.
  void Refuse(const std::string& why);
  // Every host's final state, read after its last step and its recovery; in an executed run the
  // same call releases the host (GetStateRequest.release; the lease keeper has stopped), and a
  // host the read did not release is released by RenewLease.
  void FinalState();
  void FinalStateOf(const std::string& host, const std::vector<std::string>& units);
  // CheckStayedUp for every host's final state, in host order.
  void CheckFinalStates();
  void ReleaseHosts();
  void ReleaseHost(const std::string& host);
  void StopLeaseKeeper(std::thread* keeper);
  void LeaseKeeper();
  // Hosts of `service` allowed to fail (count, or percent of all hosts running it) over the whole run.
  uint32_t AllowedFailures(const std::string& service) const;

  const Config& config_;
  const Plan& plan_;
  std::map<std::string, AgentClient*> clients_;
  ProbeRunner* health_;
  Clock* clock_;
  GateRunner gates_;
  EmitFn emit_;
  SnapshotFn snapshot_;

  // A host lost mid-run (stream broken, unreachable) is asked once more (normal call deadline):
  // false when it answers (no longer lost) or was never lost; true, recording why, when it stays
  // silent: then nothing about its units is confirmed.
  bool SkipLostHost(const std::string& host, const std::string& phase);

  std::mutex emit_mu_;  // events leave one at a time, in order, from any thread
  std::mutex mu_;  // guards report_ and the sets below (step hosts run in parallel)
  v1::Report report_;
  std::chrono::steady_clock::time_point start_;
  std::map<std::pair<std::string, std::string>, v1::UnitState> initial_;  // (host, unit)
  std::set<std::string> unreachable_;
  std::set<std::string> lost_hosts_;
  std::map<std::string, std::set<std::string>> failed_hosts_;  // service -> hosts failed in any of its steps
  std::set<std::string> touched_hosts_;
  std::set<std::string> reserved_hosts_;  // reserved at preflight; renewed and released by the run
  std::map<std::string, v1::GetStateResponse> final_states_;  // executed runs: host -> its final read
  std::set<std::string> finished_hosts_;  // final state read and host released at recovery
  bool stopped_ = false;
  bool recovered_ = false;  // a recovery step ran (guarded by mu_)
  // Why a stop was requested ("" = none); once requested, it is also the run's first failure.
  std::string StopReason();
  std::mutex stop_mu_;
  std::string stop_why_;  // guarded by stop_mu_; "" = no stop requested
  bool any_failed_ = false;
  std::string first_failure_;

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool watch_over_ = false;  // guarded by watch_mu_

  std::mutex lease_mu_;
  std::condition_variable lease_cv_;
  bool run_over_ = false;
};

// Adds an agent's answer to a report: the units' states as final state, and what the agent did
// on its own for this run (lease expiry, restart, work finished after a lost stream).
void AddAgentState(const v1::GetStateResponse& state, v1::Report* report);

// FAILED_PRECONDITION naming unit, host and both timeouts when `lease_ms` cannot cover one stop
// and one start of the unit (each capped by `job_timeout_ms`), as the agent would refuse it.
absl::Status LeaseCoversUnitTimeouts(uint32_t lease_ms, uint32_t job_timeout_ms, const std::string& host,
                                    const v1::UnitState& st);
// An agent's answer that refuses (bad request, not allowed, held by another run) rather than
// one that never arrived.
bool IsRefusal(const absl::Status& s);
// Why `after` breaks the run: the unit was active before (`before`) and is not active now; "".
std::string UnitDownAfterRun(const std::string& host, const v1::UnitState& before, const v1::UnitState& after);

// Outcome name for humans ("SUCCEEDED", "ABORTED"...).
std::string OutcomeName(v1::RunOutcome o);

}  // namespace failover::coordinator
