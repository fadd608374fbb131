// Turns a config and run options into an ordered list of steps. Pure logic: no gRPC, no clock.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/config.h"
#include "coordinator/gate_plan.h"
#include "failover/v1/coordinator.pb.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

struct RunOptions {
  std::vector<std::string> services;  // empty = config order
  Mode mode = Mode::kRolling;
  FailurePolicy failure_policy = FailurePolicy::kAbort;
  uint32_t max_parallel = 1;
  bool execute = false;
  // Refuse an executed run while a pre-flight gate fails (--require-healthy; config default
  // defaults.require_healthy), unless force.
  bool require_healthy = false;
  bool force = false;
};

// Everything about one step is decided here; the executor only sends it and reads the answers.
struct PlannedStep {
  std::string id;
  std::string service;
  std::string unit;
  v1::Operation operation = v1::OPERATION_UNSPECIFIED;
  std::vector<std::string> hosts;     // acted on in parallel
  std::vector<v1::ProbeSpec> probes;  // gate (empty for stops)
  bool dry_run = true;
  uint32_t job_timeout_ms = 0;
  uint32_t lease_ms = 0;
  bool allow_reset_failed = false;
  // A recovery STOP of a unit that was stopped before the run (policy restore): the agent must not hold it.
  bool restore_stopped = false;
  // Settle window of the gate (starts and restarts): the unit stays up this long, 0 = none.
  uint32_t healthy_for_ms = 0;
  // Deadline of the Execute call on one host: two jobs, every probe's deadline, and network slack.
  std::chrono::milliseconds rpc_deadline{0};
  // Why a recovery step exists, for the event log ("" for planned steps).
  std::string reason;
};

struct Plan {
  RunOptions options;
  std::vector<std::string> services;  // resolved order
  std::vector<PlannedStep> steps;
  // host -> units the run touches there (for initial/final state).
  std::vector<std::pair<std::string, std::vector<std::string>>> host_units;
  // Where an availability budget narrowed --max-parallel ("service sls-api: --max-parallel 2 narrowed to 1 ...").
  std::vector<std::string> budget_notes;
  // The gates before and after the run and the stop conditions during it (PlanGates).
  GatePlan gates;
};

// Options from the request over the config defaults; INVALID_ARGUMENT for bad values.
absl::StatusOr<RunOptions> ResolveOptions(const Config& config, const std::vector<std::string>& services,
                                          const std::string& mode, const std::string& failure_policy,
                                          uint32_t max_parallel, bool execute);

// The options of a Run/Plan request: its enums when set, else its words (other clients send words only).
absl::StatusOr<RunOptions> ResolveOptions(const Config& config, const v1::RunRequest& req);

// rolling: for each service in order, restart it on its hosts in waves of max_parallel, gated
// by its probes. stop-all: stop every service in order (waves of max_parallel), then start them in
// reverse order, each start gated by its probes. Unknown or repeated services are an error.
// Availability budgets (services[].min_healthy) narrow a service's waves to instances - min_healthy
// (serialised, noted in budget_notes, never refused for --max-parallel); a budget no wave can keep
// (min_healthy >= instances, or any budget in stop-all mode) is FAILED_PRECONDITION naming it.
absl::StatusOr<Plan> BuildPlan(const Config& config, const RunOptions& options);

// The StepRecord (status unset) a report lists for a planned step.
v1::StepRecord ToStepRecord(const PlannedStep& step);

// The request that executes `step` on `host` for run `run_id`.
v1::ExecuteRequest ToExecuteRequest(const PlannedStep& step, const std::string& run_id);

// Hosts of the config that run `unit`, in config order.
std::vector<std::string> HostsRunning(const Config& config, const std::string& unit);

// Recovery of one host after the run: start every unit that ran before and does not now, and
// (policy restore, only when the run failed) stop every unit that was stopped before and runs now.
// `initial`: unit -> state before the run; `now`: the host's states after it, in the plan's order.
// Steps come in reverse order: the last service stopped comes back first.
std::vector<PlannedStep> PlanRecovery(const Config& config, const RunOptions& options, const std::string& host,
                                      const std::map<std::string, v1::UnitState>& initial,
                                      const std::vector<v1::UnitState>& now, bool run_failed);

}  // namespace failover::coordinator
