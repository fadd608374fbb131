#include "failover/probe_spec.h"

#include <cctype>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "failover/probe_checks.h"

namespace failover {
namespace {

absl::Status Bad(const std::string& where, const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, " ", what));
}

bool Printable(const std::string& s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < ' ' || c == 0x7f) return false;
  return true;
}

// Letters, digits and `extra` only.
bool Word(const std::string& s, const std::string& extra) {
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && extra.find(c) == std::string::npos) return false;
  return true;
}

absl::Status ValidateUrl(const std::string& url, const std::string& where, const std::string& field) {
  if (!(absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://")) || url.size() > 2048)
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, " must start with http:// or https:// (",
                                                   "at most 2048 characters)"));
  for (char c : url)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
      return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, " contains whitespace or control bytes"));
  // No user:password@ in the authority: it would hide the real host from a prefix check.
  const size_t start = url.find("://") + 3;
  const size_t end = url.find_first_of("/?#", start);
  if (url.substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') != std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", field, " must not carry a user name or password"));
  return absl::OkStatus();
}

absl::Status ValidateBodyAssertions(const v1::HttpProbe& h, const std::string& where) {
  if (h.body_contains().size() > 1024 || !Printable(h.body_contains()))
    return Bad(where, "http.body_contains", "must be at most 1024 printable characters");
  if (h.json_field().size() > 256 || !Word(h.json_field(), "_-."))
    return Bad(where, "http.json_field", "must be a dotted path of letters, digits, _ and - (e.g. data.state)");
  if (!h.json_field().empty())
    for (const auto& part : absl::StrSplit(h.json_field(), '.'))
      if (part.empty()) return Bad(where, "http.json_field", "has an empty path segment");
  if (!h.json_equals().empty() && h.json_field().empty())
    return Bad(where, "http.json_equals", "needs http.json_field (the field to compare)");
  if (h.json_equals().size() > 1024 || !Printable(h.json_equals()))
    return Bad(where, "http.json_equals", "must be at most 1024 printable characters");
  if (h.max_body_bytes() > kMaxBodyBytes)
    return Bad(where, "http.max_body_bytes", absl::StrCat("must be at most ", kMaxBodyBytes, " (1 MiB)"));
  return absl::OkStatus();
}

absl::Status ValidateHttp(const v1::HttpProbe& h, const std::string& where) {
  if (absl::Status s = ValidateUrl(h.url(), where, "url"); !s.ok()) return s;
  if (h.expect_status() != 0 && (h.expect_status() < 100 || h.expect_status() > 599))
    return absl::InvalidArgumentError(absl::StrCat(where, ": expect_status must be 100..599"));
  if (h.bearer_secret().size() > 128)
    return absl::InvalidArgumentError(absl::StrCat(where, ": bearer_secret name too long"));
  return ValidateBodyAssertions(h, where);
}

absl::Status ValidatePrometheus(const v1::PrometheusProbe& p, const std::string& where) {
  if (absl::Status s = ValidateUrl(p.url(), where, "prometheus.url"); !s.ok()) return s;
  if (p.alert().empty() == p.query().empty())
    return Bad(where, "prometheus", "needs exactly one of alert (an alert name) or query (PromQL)");
  if (p.alert().size() > 256 || !Word(p.alert(), "_:"))
    return Bad(where, "prometheus.alert", "must be an alert name (letters, digits, _ and :, at most 256)");
  if (p.query().size() > 4096 || !Printable(p.query()))
    return Bad(where, "prometheus.query", "must be at most 4096 printable characters");
  if (!p.match().empty() && p.alert().empty())
    return Bad(where, "prometheus.match", "applies to alert only (put label matchers into the query)");
  if (p.match().size() > 16) return Bad(where, "prometheus.match", "has more than 16 labels");
  for (const auto& [k, v] : p.match()) {
    if (k.empty() || k.size() > 128 || !Word(k, "_") || std::isdigit(static_cast<unsigned char>(k[0])))
      return Bad(where, "prometheus.match", absl::StrCat("label name \"", k.substr(0, 64), "\" is not a Prometheus label name"));
    if (v.size() > 256 || !Printable(v))
      return Bad(where, absl::StrCat("prometheus.match.", k), "must be at most 256 printable characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateRestic(const v1::ResticProbe& r, const std::string& where) {
  if (r.repository().empty() || r.repository().size() > 64 || !Word(r.repository(), "_.-"))
    return Bad(where, "restic.repository", "must name a repository of the agent's restic_repositories (letters, "
                                           "digits, _ . -), never a path");
  if (r.max_age_ms() == 0 || r.max_age_ms() > kMaxResticAgeMs)
    return Bad(where, "restic.max_age_ms", absl::StrCat("must be 1..", kMaxResticAgeMs, " (366 days)"));
  if (r.host().size() > 253 || !Word(r.host(), "_.-"))
    return Bad(where, "restic.host", "must be a host name (letters, digits, _ . -)");
  if (r.tag().size() > 128 || !Word(r.tag(), "_.-:=/"))
    return Bad(where, "restic.tag", "must be a tag (letters, digits, _ . - : = /)");
  if (absl::StartsWith(r.host(), "-") || absl::StartsWith(r.tag(), "-"))
    return Bad(where, "restic", "host and tag must not start with -");
  return absl::OkStatus();
}

absl::Status ValidateUnitProbe(const v1::UnitProbe& u, const std::string& where) {
  absl::Status s = ValidateUnitName(u.unit());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
  if (!u.result_unit().empty()) {
    s = ValidateUnitName(u.result_unit());
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": result_unit: ", s.message()));
  }
  if (u.no_failure_since_unix_us() < 0)
    return Bad(where, "unit.no_failure_since_unix_us", "must be a time (microseconds since the epoch), not negative");
  if (u.no_failure_since_unix_us() > 0 && u.result_unit().empty())
    return Bad(where, "unit.no_failure_since_unix_us", "needs unit.result_unit (the service whose failures count)");
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
    case v1::ProbeSpec::kPrometheus:
      return ValidatePrometheus(spec.prometheus(), where);
    case v1::ProbeSpec::kRestic:
      return ValidateRestic(spec.restic(), where);
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, ": no kind (http, tcp, unit, prometheus or restic) set"));
  }
}

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec, const UnitAllowlist& allowlist) {
  if (absl::Status s = ValidateProbeSpec(spec); !s.ok()) return s;
  if (spec.kind_case() != v1::ProbeSpec::kUnit) return absl::OkStatus();
  if (absl::Status s = allowlist.Check(spec.unit().unit()); !s.ok()) return s;
  if (!spec.unit().result_unit().empty()) return allowlist.Check(spec.unit().result_unit());
  return absl::OkStatus();
}

absl::Status CheckRunnableOnCoordinator(const v1::ProbeSpec& spec) {
  const std::string where = absl::StrCat("probe \"", spec.name().substr(0, 64), "\"");
  if (spec.kind_case() == v1::ProbeSpec::kRestic)
    return absl::InvalidArgumentError(absl::StrCat(where, ": restic probes run on agents only (the repository is named ",
                                                   "in an agent's restic_repositories); put it in a service's probes ",
                                                   "or a guard with a host"));
  if (spec.kind_case() == v1::ProbeSpec::kUnit)
    return absl::InvalidArgumentError(absl::StrCat(where, ": unit probes run on agents only; give the probe a host"));
  return absl::OkStatus();
}

}  // namespace failover
