// The concrete probe runner: HTTP (libcurl), TCP connect, unit state over SystemdManager.
// Binaries use it; logic under test sees only the ProbeRunner interface (failover/probe.h).
#pragma once

#include <map>
#include <string>

#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/probe_sources.h"
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

// One HTTP GET keeping the body (at most `max_body` bytes: a longer or endless body is cut off
// and reported). ok = a response arrived; error says why not.
struct HttpFetch {
  bool ok = false;
  long status = 0;
  std::string body;
  std::string error;
  int64_t latency_us = 0;
};
HttpFetch HttpFetchOnce(const std::string& url, const std::string& bearer_token, uint32_t timeout_ms,
                        uint32_t max_body, bool keep_body);

// Where unit-failure and restic probes read from (null: such probes fail, naming why).
struct ProbeSources {
  UnitFailureLog* failures = nullptr;
  ResticSource* restic = nullptr;
};

class LocalProbeRunner : public ProbeRunner {
 public:
  // `secrets`: name -> value, from the agent's config. `systemd` for unit probes (may be null).
  // `clock` paces retries and deadlines (RealClock::Get() in binaries).
  LocalProbeRunner(std::string host, std::map<std::string, std::string> secrets, SystemdManager* systemd,
                   Clock* clock, ProbeSources sources = {})
      : host_(std::move(host)), secrets_(std::move(secrets)), systemd_(systemd), clock_(clock), sources_(sources) {}

  v1::ProbeResult Run(const v1::ProbeSpec& spec) override;

 private:
  HttpAttempt Once(const v1::ProbeSpec& spec);
  HttpAttempt HttpOnce(const v1::ProbeSpec& spec);
  HttpAttempt UnitOnce(const v1::UnitProbe& u);
  bool NoFailureSince(const v1::UnitProbe& u, std::string* why);
  HttpAttempt ResticOnce(const v1::ProbeSpec& spec);
  std::string host_;
  std::map<std::string, std::string> secrets_;
  SystemdManager* systemd_;
  Clock* clock_;
  ProbeSources sources_;
};

}  // namespace failover
