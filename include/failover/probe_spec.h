// The one probe-spec validator: the coordinator's config parser, the agent's Execute and Probe
// requests all check probes here before anything runs.
#pragma once

#include "absl/status/status.h"
#include "failover/unit_name.h"
#include "failover/v1/agent.pb.h"

namespace failover {

// Longest timeout, deadline or interval a probe may ask for.
inline constexpr uint32_t kMaxProbeMs = 10 * 60 * 1000;
// Largest max_age_ms of a restic probe (366 days).
inline constexpr uint64_t kMaxResticAgeMs = 366ull * 24 * 3600 * 1000;

// Checks a probe spec before anything runs: kind set, URL scheme http/https, port range,
// timeouts > 0 and bounded, unit names valid. INVALID_ARGUMENT naming the probe and field.
absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec);
// The same, and a unit probe's unit and result_unit must be on `allowlist` (PERMISSION_DENIED
// otherwise): what an agent applies to every probe it is asked to run.
absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec, const UnitAllowlist& allowlist);
// INVALID_ARGUMENT for a kind only an agent can run (restic: repositories live in agent configs;
// unit: systemd is the agent's): what a coordinator-run probe (gates without a host) must pass.
absl::Status CheckRunnableOnCoordinator(const v1::ProbeSpec& spec);

}  // namespace failover
