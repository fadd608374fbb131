#include "failover/probe_spec.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace failover {
namespace {

absl::Status ValidateHttp(const v1::HttpProbe& h, const std::string& where) {
  if (!(absl::StartsWith(h.url(), "http://") || absl::StartsWith(h.url(), "https://")) || h.url().size() > 2048)
    return absl::InvalidArgumentError(absl::StrCat(where, ": url must start with http:// or https:// (",
                                                   "at most 2048 characters)"));
  for (char c : h.url())
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return absl::InvalidArgumentError(absl::StrCat(where, ": url contains whitespace or control bytes"));
  // No user:password@ in the authority: it would hide the real host from a prefix check.
  const size_t start = h.url().find("://") + 3;
  const size_t end = h.url().find_first_of("/?#", start);
  if (h.url().substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') !=
      std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(where, ": url must not carry a user name or password"));
  if (h.expect_status() != 0 && (h.expect_status() < 100 || h.expect_status() > 599))
    return absl::InvalidArgumentError(absl::StrCat(where, ": expect_status must be 100..599"));
  if (h.bearer_secret().size() > 128)
    return absl::InvalidArgumentError(absl::StrCat(where, ": bearer_secret name too long"));
  return absl::OkStatus();
}

absl::Status ValidateUnitProbe(const v1::UnitProbe& u, const std::string& where) {
  absl::Status s = ValidateUnitName(u.unit());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
  if (!u.result_unit().empty()) {
    s = ValidateUnitName(u.result_unit());
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": result_unit: ", s.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec) {
  const std::string where = absl::StrCat("probe \"", spec.name().substr(0, 64), "\"");
  if (spec.name().empty() || spec.name().size() > 128)
    return absl::InvalidArgumentError("probe name must be 1..128 characters");
  if (spec.timeout_ms() == 0 || spec.timeout_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": timeout_ms must be 1..", kMaxProbeMs));
  if (spec.deadline_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": deadline_ms must be at most ", kMaxProbeMs));
  if (spec.interval_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": interval_ms must be at most ", kMaxProbeMs));
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kHttp:
      return ValidateHttp(spec.http(), where);
    case v1::ProbeSpec::kTcp:
      if (spec.tcp().host().empty() || spec.tcp().host().size() > 253 || spec.tcp().port() == 0 ||
          spec.tcp().port() > 65535)
        return absl::InvalidArgumentError(absl::StrCat(where, ": tcp needs a host and a port 1..65535"));
      return absl::OkStatus();
    case v1::ProbeSpec::kUnit:
      return ValidateUnitProbe(spec.unit(), where);
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, ": no kind (http, tcp or unit) set"));
  }
}

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec, const UnitAllowlist& allowlist) {
  if (absl::Status s = ValidateProbeSpec(spec); !s.ok()) return s;
  if (spec.kind_case() != v1::ProbeSpec::kUnit) return absl::OkStatus();
  if (absl::Status s = allowlist.Check(spec.unit().unit()); !s.ok()) return s;
  if (!spec.unit().result_unit().empty()) return allowlist.Check(spec.unit().result_unit());
  return absl::OkStatus();
}

}  // namespace failover
