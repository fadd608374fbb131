// Runs injected faults (failoverctl inject, chaos): for each planned pick, applies the
// blast-radius rules, has the agent kill the unit, then watches it come back — systemd's own
// Restart= first, a failover of its service after the recovery deadline — and records every
// timestamp from the agents' clocks. Pure logic over AgentClient, ProbeRunner and Clock; the
// failover itself is the caller's (the existing RunExecutor, behind FailoverFn).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "coordinator/chaos_planner.h"
#include "coordinator/config.h"
#include "failover/agent_client.h"
#include "failover/clock.h"
#include "failover/kill_signal.h"
#include "failover/probe.h"
#include "failover/v1/coordinator.pb.h"

namespace failover::coordinator {

struct FaultRunOptions {
  v1::RunKind kind = v1::RUN_KIND_INJECT;
  bool execute = false;
  KillSignal signal = KillSignal::kKill;
  std::vector<FaultTarget> picks;       // inject: one; chaos: PlanChaosPicks
  std::vector<FaultTarget> candidates;  // every unit the run may pick (the blast radius looks at them)
  std::vector<std::string> services;  // for the report
  uint32_t recover_deadline_ms = kDefaultRecoverDeadlineMs;
  uint32_t poll_ms = 50;
  uint32_t pause_ms = 0;  // between rounds
  uint32_t max_down = 1;
  uint64_t seed = 0;
  bool then_failover = false;
};

// time to detect and MTTR of a record from its agent timestamps (0 when an end is missing).
void ComputeFaultTimes(v1::FaultRecord* r);

class FaultExecutor {
 public:
  using EmitFn = std::function<void(v1::RunEvent)>;
  // Runs a failover of `service` (rolling, executed) for run `run_id` and returns its report.
  using FailoverFn = std::function<v1::Report(const std::string& service)>;
  // "" while the run may go on; else why it must stop (abort, Ctrl-C, coordinator stopping).
  using StopFn = std::function<std::string()>;

  FaultExecutor(const Config& config, FaultRunOptions options, std::map<std::string, AgentClient*> clients,
                ProbeRunner* coordinator_probes, Clock* clock, EmitFn emit, FailoverFn failover, StopFn stop);

  v1::Report Run(const std::string& run_id);

 private:
  void Begin(const std::string& run_id);
  // One round: skip, refuse or inject, then recover. False when the run must stop.
  bool Round(uint32_t round, const FaultTarget& target);
  // The world now: units of the candidates down, services unhealthy (one look each).
  ChaosWorld Look();
  // A stop condition failing now ("" = none); recorded in the report.
  std::string StopConditionTripped();
  // Watches `r`'s unit until active with its probes passing, or the deadline; fills the times.
  void WatchRecovery(const FaultTarget& target, const v1::UnitState& before, v1::FaultRecord* r);
  // One poll: the unit's state; then, when it is back, its probes. True once recovered.
  bool PollOnce(const FaultTarget& target, const v1::UnitState& before, v1::FaultRecord* r);
  // The service's probes on `host`, one look each; "" when all pass, else the first failure, and
  // when every probe passed `passed_at` is the last one's agent timestamp.
  std::string ProbeService(const std::string& service, const std::string& host, int64_t* passed_at);
  // Times, the round's last event, the record into the report.
  void EndRound(const FaultTarget& target, v1::FaultRecord* r);
  void FailOver(const FaultTarget& target, v1::FaultRecord* r, bool after_recovery);
  void Emit(const std::string& host, const std::string& unit, const std::string& msg, v1::EventSeverity level);
  void Conclude();

  const Config& config_;
  FaultRunOptions options_;
  std::map<std::string, AgentClient*> clients_;
  ProbeRunner* coordinator_probes_;
  Clock* clock_;
  EmitFn emit_;
  FailoverFn failover_;
  StopFn stop_;
  std::string run_id_;
  std::string stop_why_;
  v1::Report report_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace failover::coordinator
