#include "coordinator/chaos_planner.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "coordinator/planner.h"

namespace failover::coordinator {

absl::StatusOr<std::vector<FaultTarget>> FaultCandidates(const Config& config,
                                                         const std::vector<std::string>& services) {
  const std::vector<std::string>& names = services.empty() ? config.default_order : services;
  std::vector<FaultTarget> out;
  for (const auto& name : names) {
    const ServiceConfig* svc = config.FindService(name);
    if (svc == nullptr)
      return absl::InvalidArgumentError(absl::StrCat("--services: \"", name, "\" is not a service of ", config.path));
    for (const auto& host : HostsRunning(config, svc->unit)) out.push_back({svc->name, svc->unit, host});
  }
  if (out.empty()) return absl::InvalidArgumentError(absl::StrCat(config.path, ": no host runs any of the services"));
  return out;
}

absl::StatusOr<FaultTarget> InjectTarget(const Config& config, const std::string& unit, const std::string& host) {
  if (config.FindHost(host) == nullptr)
    return absl::InvalidArgumentError(absl::StrCat("--fail ", unit, "@", host, ": host \"", host, "\" is not in ",
                                                   config.path, " (hosts:)"));
  for (const auto& svc : config.services) {
    if (svc.unit != unit) continue;
    const auto hosts = HostsRunning(config, unit);
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end())
      return absl::InvalidArgumentError(absl::StrCat("--fail ", unit, "@", host, ": host ", host, " does not run ", unit,
                                                     " in ", config.path));
    return FaultTarget{svc.name, unit, host};
  }
  return absl::InvalidArgumentError(absl::StrCat("--fail ", unit, "@", host, ": no service of ", config.path,
                                                 " has unit ", unit));
}

uint64_t UniformBelow(std::mt19937_64* rng, uint64_t n) {
  // Reject the top partial block of [0, 2^64) so every residue is equally likely.
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  const uint64_t limit = max - (max % n + 1) % n;
  uint64_t x = (*rng)();
  while (x > limit) x = (*rng)();
  return x % n;
}

std::vector<FaultTarget> PlanChaosPicks(const std::vector<FaultTarget>& candidates, uint64_t seed, uint32_t rounds) {
  std::vector<FaultTarget> picks;
  if (candidates.empty()) return picks;
  std::mt19937_64 rng(seed);
  for (uint32_t i = 0; i < rounds; ++i) picks.push_back(candidates[UniformBelow(&rng, candidates.size())]);
  return picks;
}

std::string BlastRadiusSkip(const FaultTarget& target, const ChaosWorld& world, uint32_t max_down) {
  auto unhealthy = world.unhealthy.find(target.service);
  if (unhealthy != world.unhealthy.end())
    return absl::StrCat("skipped: service ", target.service, " is already unhealthy (", unhealthy->second,
                        "); chaos never hits an unhealthy service");
  if (world.down.count({target.host, target.unit}) != 0)
    return absl::StrCat("skipped: ", target.unit, " on ", target.host, " is already down");
  if (world.down.size() + 1 > max_down)
    return absl::StrCat("skipped: ", world.down.size(), " unit(s) already down; killing ", target.unit, " on ",
                        target.host, " would exceed --max-down ", max_down);
  return "";
}

std::string RecoveredByName(v1::RecoveredBy r) {
  switch (r) {
    case v1::RECOVERED_BY_SYSTEMD_RESTART: return "systemd restart";
    case v1::RECOVERED_BY_FAILOVER: return "failover";
    case v1::RECOVERED_BY_NOT_RECOVERED: return "not recovered";
    case v1::RECOVERED_BY_NOT_INJECTED: return "not injected";
    default: return "-";
  }
}

}  // namespace failover::coordinator
