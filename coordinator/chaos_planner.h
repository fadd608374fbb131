// Chaos and incident simulation, planned: which (service, unit, host) may be killed, the
// reproducible random picks of a chaos run, and the blast-radius rules that skip a pick.
// Pure logic: no gRPC, no clock, no randomness but the seeded PRNG.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/config.h"

namespace failover::coordinator {

inline constexpr uint32_t kMaxChaosRounds = 100;
inline constexpr uint32_t kDefaultRecoverDeadlineMs = 10000;
inline constexpr uint32_t kMaxRecoverDeadlineMs = 10 * 60 * 1000;

struct FaultTarget {
  std::string service;
  std::string unit;
  std::string host;
  bool operator==(const FaultTarget& o) const { return service == o.service && unit == o.unit && host == o.host; }
};

// Every (service, unit, host) of `services` (empty = the config's order), in config order.
// INVALID_ARGUMENT naming an unknown service.
absl::StatusOr<std::vector<FaultTarget>> FaultCandidates(const Config& config, const std::vector<std::string>& services);

// The target of `failoverctl inject --fail UNIT@HOST`: the host must run the unit and a service
// of the config must own it. INVALID_ARGUMENT naming what is wrong.
absl::StatusOr<FaultTarget> InjectTarget(const Config& config, const std::string& unit, const std::string& host);

// A uniform integer in [0, n) from `rng` by rejection (no std distribution: those differ between
// standard libraries, and a seed must give the same picks everywhere). n > 0.
uint64_t UniformBelow(std::mt19937_64* rng, uint64_t n);

// The picks of a chaos run, one per round, decided up front from `seed` alone: the same seed
// and candidates give the same picks whatever happens during the run.
std::vector<FaultTarget> PlanChaosPicks(const std::vector<FaultTarget>& candidates, uint64_t seed, uint32_t rounds);

// What the run sees when a round is due.
struct ChaosWorld {
  std::set<std::pair<std::string, std::string>> down;  // (host, unit) not active now
  std::map<std::string, std::string> unhealthy;        // service -> why its probe fails now
};

// "" when `target` may be killed now; else why it is skipped: its service is unhealthy, or
// killing it would put more than `max_down` units down at once.
// "systemd restart", "failover", "not recovered", "not injected".
std::string RecoveredByName(v1::RecoveredBy r);

std::string BlastRadiusSkip(const FaultTarget& target, const ChaosWorld& world, uint32_t max_down);

}  // namespace failover::coordinator
