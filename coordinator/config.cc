#include "coordinator/config.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "failover/logging.h"

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

namespace {

constexpr size_t kMaxCallerTokenBytes = 4096;

// A bearer token goes into an HTTP header: printable ASCII only (no CR/LF header injection).
absl::Status CheckCallerToken(const std::string& token) {
  if (token.size() > kMaxCallerTokenBytes)
    return absl::InvalidArgumentError(absl::StrCat("the caller's token is longer than ", kMaxCallerTokenBytes, " bytes"));
  for (char c : token)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
      return absl::InvalidArgumentError(
          "the caller's token may hold only printable ASCII without spaces (check PANEL_TOKEN / --token-file)");
  return absl::OkStatus();
}

}  // namespace

absl::Status ApplyCallerApiBase(const std::string& api_base, const std::string& token, Config* config) {
  if (api_base.empty()) {
    if (token.empty()) return absl::OkStatus();
    return absl::InvalidArgumentError(
        "a caller's token goes only to the caller's own API base: give --api-base with it (or drop the token)");
  }
  if (absl::Status s = CheckCallerToken(token); !s.ok()) return s;
  auto url = CheckCallerApiBase(api_base, config->health_check.allowed_api_bases);
  if (!url.ok()) return url.status();
  HealthCheckConfig& hc = config->health_check;
  hc.url = std::string(absl::StripSuffix(url->Canonical(), "/")) + hc.path;
  hc.token_ref.reset();
  hc.token = token;  // the coordinator's own token is gone from this request's config
  RegisterSecret(token);
  return absl::OkStatus();
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
