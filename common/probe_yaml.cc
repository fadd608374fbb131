#include "failover/probe_yaml.h"

#include "absl/strings/numbers.h"

namespace failover {
namespace {

absl::Status Text(const YamlFields& f, const YAML::Node& n, const std::string& field, std::string* out) {
  if (!n.IsScalar()) return f.Err(n, field, "must be a single value");
  *out = n.as<std::string>();
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseHttpBodyFields(const YamlFields& f, const YAML::Node& h, const std::string& field, v1::HttpProbe* out) {
  for (const char* k : {"body_contains", "json_field", "json_equals"}) {
    if (!h[k]) continue;
    std::string v;
    if (absl::Status s = Text(f, h[k], field + "." + k, &v); !s.ok()) return s;
    if (std::string(k) == "body_contains") out->set_body_contains(v);
    if (std::string(k) == "json_field") out->set_json_field(v);
    if (std::string(k) == "json_equals") out->set_json_equals(v);
  }
  if (h["max_body_bytes"]) {
    auto n = f.Count(h["max_body_bytes"], field + ".max_body_bytes", 1, 1 << 20);
    if (!n.ok()) return n.status();
    out->set_max_body_bytes(*n);
  }
  return absl::OkStatus();
}

absl::Status ParsePrometheusProbe(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                  v1::PrometheusProbe* out) {
  if (absl::Status s = f.CheckKeys(n, field, {"url", "alert", "match", "include_pending", "query"}); !s.ok()) return s;
  if (!n["url"]) return f.Err(n, field + ".url", "missing (e.g. http://10.77.0.1:9090)");
  for (const char* k : {"url", "alert", "query"}) {
    if (!n[k]) continue;
    std::string v;
    if (absl::Status s = Text(f, n[k], field + "." + k, &v); !s.ok()) return s;
    if (std::string(k) == "url") out->set_url(v);
    if (std::string(k) == "alert") out->set_alert(v);
    if (std::string(k) == "query") out->set_query(v);
  }
  if (const auto m = n["match"]) {
    if (!m.IsMap()) return f.Err(m, field + ".match", "must be a mapping of label: value");
    for (const auto& kv : m) {
      std::string v;
      const std::string key = kv.first.as<std::string>();
      if (absl::Status s = Text(f, kv.second, field + ".match." + key, &v); !s.ok()) return s;
      (*out->mutable_match())[key] = v;
    }
  }
  if (n["include_pending"]) {
    auto b = f.Bool(n["include_pending"], field + ".include_pending");
    if (!b.ok()) return b.status();
    out->set_include_pending(*b);
  }
  return absl::OkStatus();
}

absl::Status ParseResticProbe(const YamlFields& f, const YAML::Node& n, const std::string& field, v1::ResticProbe* out) {
  if (absl::Status s = f.CheckKeys(n, field, {"repository", "max_age_ms", "host", "tag"}); !s.ok()) return s;
  if (!n["repository"]) return f.Err(n, field + ".repository", "missing (a name from the agent's restic_repositories)");
  if (!n["max_age_ms"]) return f.Err(n, field + ".max_age_ms", "missing (how old the latest snapshot may be)");
  for (const char* k : {"repository", "host", "tag"}) {
    if (!n[k]) continue;
    std::string v;
    if (absl::Status s = Text(f, n[k], field + "." + k, &v); !s.ok()) return s;
    if (std::string(k) == "repository") out->set_repository(v);
    if (std::string(k) == "host") out->set_host(v);
    if (std::string(k) == "tag") out->set_tag(v);
  }
  uint64_t age = 0;
  if (!n["max_age_ms"].IsScalar() || !absl::SimpleAtoi(n["max_age_ms"].as<std::string>(), &age) || age == 0)
    return f.Err(n["max_age_ms"], field + ".max_age_ms", "must be a positive number of milliseconds");
  out->set_max_age_ms(age);
  return absl::OkStatus();
}

}  // namespace failover
