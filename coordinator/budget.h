// The availability budget (services[].min_healthy, what Kubernetes calls a disruption budget):
// how many instances of a service must stay healthy while others restart. Pure: the planner asks
// how wide a wave may be, the executor asks whether the instances outside a wave are enough now.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/config.h"

namespace failover::coordinator {

// Instances of `svc` that must stay healthy (a percent of `instances` is rounded up); 0 = no budget.
uint32_t MinHealthy(const ServiceConfig& svc, size_t instances);

// The widest wave a run of `mode` may stop at once without breaking the budget by construction:
// instances - min_healthy (no limit without a budget). FAILED_PRECONDITION naming the service when
// no wave fits: min_healthy >= instances, or mode stop-all (it keeps every instance down until
// the start phase) with a budget.
absl::StatusOr<size_t> MaxWaveForBudget(const ServiceConfig& svc, size_t instances, Mode mode);

// How long a step waits for the budget: min_healthy_wait_ms, else the longest gate probe
// deadline (0 without probes: one look).
uint32_t BudgetWaitMs(const ServiceConfig& svc);

// What the executor checks before a step stops the instances of `wave`: their other instances'
// health now (host -> healthy; a host that did not answer is unhealthy).
struct BudgetVerdict {
  bool ok = true;
  uint32_t required = 0;                 // min_healthy
  uint32_t healthy = 0;                  // other instances healthy now
  std::vector<std::string> unhealthy;    // other instances that are not
  std::string message;                   // one line naming the service, the wave and the instances
};
BudgetVerdict CheckBudget(const ServiceConfig& svc, const std::vector<std::string>& wave,
                          const std::map<std::string, bool>& others_healthy, size_t instances);

}  // namespace failover::coordinator
