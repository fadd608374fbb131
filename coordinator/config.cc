#include "coordinator/config.h"

namespace failover::coordinator {

v1::ProbeSpec HealthCheckProbe(const HealthCheckConfig& hc) {
  v1::ProbeSpec spec;
  spec.set_name("health_check");
  spec.mutable_http()->set_url(hc.url);
  spec.mutable_http()->set_expect_status(hc.expect_status);
  if (!hc.token.empty()) spec.mutable_http()->set_bearer_secret(kHealthCheckSecret);
  spec.set_timeout_ms(hc.timeout_ms);
  spec.set_deadline_ms(hc.deadline_ms);
  spec.set_interval_ms(hc.interval_ms);
  return spec;
}

const HostConfig* Config::FindHost(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

const ServiceConfig* Config::FindService(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

absl::StatusOr<Mode> ParseMode(const std::string& s) {
  if (s == "rolling") return Mode::kRolling;
  if (s == "stop-all") return Mode::kStopAll;
  return absl::InvalidArgumentError("mode must be \"rolling\" or \"stop-all\", got \"" + s + "\"");
}

absl::StatusOr<FailurePolicy> ParseFailurePolicy(const std::string& s) {
  if (s == "abort") return FailurePolicy::kAbort;
  if (s == "continue") return FailurePolicy::kContinue;
  if (s == "restore") return FailurePolicy::kRestore;
  return absl::InvalidArgumentError("failure policy must be \"abort\", \"continue\" or \"restore\", got \"" + s + "\"");
}

std::string ModeName(Mode m) { return m == Mode::kRolling ? "rolling" : "stop-all"; }
std::string FailurePolicyName(FailurePolicy p) {
  return p == FailurePolicy::kAbort ? "abort" : p == FailurePolicy::kContinue ? "continue" : "restore";
}

}  // namespace failover::coordinator
