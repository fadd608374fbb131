// The concrete probe runner: HTTP (libcurl), TCP connect, unit state over SystemdManager.
// Binaries use it; logic under test sees only the ProbeRunner interface (failover/probe.h).
#pragma once

#include <map>
#include <string>

#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/systemd_manager.h"

namespace failover {

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
  // `clock` paces retries and deadlines (RealClock::Get() in binaries).
  LocalProbeRunner(std::string host, std::map<std::string, std::string> secrets, SystemdManager* systemd,
                   Clock* clock)
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
