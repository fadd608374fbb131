#include "coordinator/budget.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace failover::coordinator {

uint32_t MinHealthy(const ServiceConfig& svc, size_t instances) {
  if (!svc.min_healthy_percent) return svc.min_healthy;
  return static_cast<uint32_t>((instances * svc.min_healthy + 99) / 100);
}

absl::StatusOr<size_t> MaxWaveForBudget(const ServiceConfig& svc, size_t instances, Mode mode) {
  const uint32_t need = MinHealthy(svc, instances);
  if (need == 0) return instances;
  const std::string budget = absl::StrCat("service ", svc.name, ": min_healthy ", svc.min_healthy,
                                          svc.min_healthy_percent ? "%" : "", " (", need, " of ", instances,
                                          " instance(s) must stay healthy)");
  if (mode == Mode::kStopAll)
    return absl::FailedPreconditionError(absl::StrCat(
        budget, ": mode stop-all keeps every instance down until the start phase, which breaks it; use --mode "
                "rolling or remove min_healthy"));
  if (need >= instances)
    return absl::FailedPreconditionError(absl::StrCat(
        budget, ": no instance can ever restart without going below it; lower min_healthy or add an instance"));
  return instances - need;
}

uint32_t BudgetWaitMs(const ServiceConfig& svc) {
  if (svc.min_healthy_wait_ms) return *svc.min_healthy_wait_ms;
  uint32_t ms = 0;
  for (const auto& p : svc.probes) ms = std::max(ms, p.deadline_ms());
  return ms;
}

BudgetVerdict CheckBudget(const ServiceConfig& svc, const std::vector<std::string>& wave,
                          const std::map<std::string, bool>& others_healthy, size_t instances) {
  BudgetVerdict v;
  v.required = MinHealthy(svc, instances);
  std::vector<std::string> healthy;
  for (const auto& [host, ok] : others_healthy) {
    if (std::find(wave.begin(), wave.end(), host) != wave.end()) continue;  // the wave itself goes down
    (ok ? healthy : v.unhealthy).push_back(host);
  }
  v.healthy = static_cast<uint32_t>(healthy.size());
  v.ok = v.healthy >= v.required;
  v.message = absl::StrCat(
      "availability budget of ", svc.name, " (min_healthy ", v.required, "): stopping it on ", absl::StrJoin(wave, ", "),
      " leaves ", v.healthy, " healthy instance(s)", healthy.empty() ? "" : " (" + absl::StrJoin(healthy, ", ") + ")",
      v.unhealthy.empty() ? "" : "; not healthy now: " + absl::StrJoin(v.unhealthy, ", "));
  return v;
}

}  // namespace failover::coordinator
