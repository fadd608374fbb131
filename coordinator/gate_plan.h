// Which gates run where and when: the runbook's checklist as gates before the first step
// (pre-flight, the state before), after the last (the state after), and stop conditions watched
// while an executed run goes on. Pure: the executor runs what this decides (gate_runner.h).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "coordinator/config.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

enum class GatePhase { kBefore, kDuring, kAfter };

struct PlannedGate {
  std::string name;
  std::string where;  // kGateOnCoordinator or a host name
  bool on_coordinator = false;
  GatePhase phase = GatePhase::kBefore;
  // The probe as it runs in this phase: before and during it is one look (deadline = timeout,
  // the state as it is now); after, it may retry until its configured deadline.
  v1::ProbeSpec probe;
  // Deadline of the Probe call to a host's agent (the probe's deadline plus network slack).
  std::chrono::milliseconds rpc_deadline{0};
};

struct GatePlan {
  std::vector<PlannedGate> before;
  std::vector<PlannedGate> during;  // empty for dry runs: nothing changes, nothing to stop
  std::vector<PlannedGate> after;
  // Health query only: every gate in one sweep: guards and gates as after a run (up to their
  // deadline), the global health check and the stop conditions one look each (they answer "now").
  std::vector<PlannedGate> health;
  std::chrono::milliseconds watch_interval{500};
  bool require_healthy = false;  // the run's setting, for the report
  bool force = false;
  // An executed run with require_healthy and without force refuses to start on a failing gate.
  bool refuse_on_failure = false;
};

// Options of the run that decide the gates (a subset of RunOptions, to keep this header light).
struct GateOptions {
  bool execute = false;
  bool require_healthy = false;
  bool force = false;
  // A health query (failoverctl health), not a run: fills GatePlan::health and plans the stop
  // conditions too (nothing is executed).
  bool health_query = false;
};

// Every configured check in report order: health_check (as kHealthCheckGate on the coordinator),
// guards (named after their probe, on their host), then `gates:`.
std::vector<GateConfig> ConfiguredGates(const Config& config);

// `gate` as checked during or after a run that started at `run_started_us`: a unit probe with a
// result unit (the monitor guard) must also find no failure of that unit since then, not only a
// good last result (unless the config set its own no_failure_since_unix_us).
PlannedGate SinceRunStart(PlannedGate gate, int64_t run_started_us);

GatePlan PlanGates(const Config& config, const GateOptions& options);

// The failing gates among `results`, as "NAME on WHERE: MESSAGE".
std::vector<std::string> FailingGates(const std::vector<v1::GateResult>& results);

// Why the run must not start ("" when it may): the failing pre-flight gates, when the plan
// refuses on failure.
std::string RefusalReason(const GatePlan& plan, const std::vector<v1::GateResult>& before);

// A probe's outcome as a gate result of `gate`.
v1::GateResult ToGateResult(const PlannedGate& gate, const v1::ProbeResult& r);

// The word of a phase ("before", "during", "after") and its wire enum.
std::string GatePhaseName(GatePhase p);
v1::GatePhase ToWire(GatePhase p);

}  // namespace failover::coordinator
