// Health probes: HTTP, TCP connect, unit state. Kinds are fixed; nothing is ever executed.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "failover/clock.h"
#include "failover/systemd_manager.h"

#include "failover/v1/agent.pb.h"
#include "failover/v1/report.pb.h"

namespace failover {

class ProbeRunner {
 public:
  virtual ~ProbeRunner() = default;
  // Runs the probe, retrying every interval_ms until healthy or deadline_ms passes.
  virtual v1::ProbeResult Run(const v1::ProbeSpec& spec) = 0;
};

// Checks a probe spec before anything runs: kind set, URL scheme http/https, port range,
// timeouts > 0 and bounded, unit names valid. INVALID_ARGUMENT naming the probe and field.
absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec);

// One attempt of an HTTP GET; returns healthy + detail. Shared with the coordinator's global check.
struct HttpAttempt {
  bool healthy = false;
  std::string detail;
  int64_t latency_us = 0;
};
HttpAttempt HttpGetOnce(const std::string& url, uint32_t expect_status, const std::string& bearer_token,
                        uint32_t timeout_ms);

class LocalProbeRunner : public ProbeRunner {
 public:
  // `secrets`: name -> value, from the agent's config. `systemd` for unit probes (may be null).
  LocalProbeRunner(std::string host, std::map<std::string, std::string> secrets, SystemdManager* systemd,
                   Clock* clock = RealClock::Get())
      : host_(std::move(host)), secrets_(std::move(secrets)), systemd_(systemd), clock_(clock) {}

  v1::ProbeResult Run(const v1::ProbeSpec& spec) override;

 private:
  HttpAttempt Once(const v1::ProbeSpec& spec);
  std::string host_;
  std::map<std::string, std::string> secrets_;
  SystemdManager* systemd_;
  Clock* clock_;
};

}  // namespace failover
