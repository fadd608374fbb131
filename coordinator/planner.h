// Turns a config and run options into an ordered list of steps. Pure logic: no gRPC, no clock.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/config.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

struct RunOptions {
  std::vector<std::string> services;  // empty = config order
  Mode mode = Mode::kRolling;
  FailurePolicy failure_policy = FailurePolicy::kAbort;
  uint32_t max_parallel = 1;
  bool execute = false;
};

struct PlannedStep {
  std::string id;
  std::string service;
  std::string unit;
  v1::Operation operation = v1::OPERATION_UNSPECIFIED;
  std::vector<std::string> hosts;     // acted on in parallel
  std::vector<v1::ProbeSpec> probes;  // gate (empty for stops)
};

struct Plan {
  RunOptions options;
  std::vector<std::string> services;  // resolved order
  std::vector<PlannedStep> steps;
  // host -> units the run touches there (for initial/final state).
  std::vector<std::pair<std::string, std::vector<std::string>>> host_units;
};

// Options from the request over the config defaults; INVALID_ARGUMENT for bad values.
absl::StatusOr<RunOptions> ResolveOptions(const Config& config, const std::vector<std::string>& services,
                                          const std::string& mode, const std::string& failure_policy,
                                          uint32_t max_parallel, bool execute);

// rolling: for each service in order, restart it on its hosts in waves of max_parallel, gated
// by its probes. stop-all: stop every service in order (waves of max_parallel), then start them in
// reverse order, each start gated by its probes. Unknown or repeated services are an error.
absl::StatusOr<Plan> BuildPlan(const Config& config, const RunOptions& options);

// The StepRecord (status unset) a report lists for a planned step.
v1::StepRecord ToStepRecord(const PlannedStep& step);

}  // namespace failover::coordinator
