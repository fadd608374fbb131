// YAML for the probe kinds that read an answer (shared by config parsers; yaml helpers room):
//   http: {..., body_contains: S, json_field: a.b, json_equals: S, max_body_bytes: N}
//   prometheus: {url: U, alert: NAME, match: {label: value}, include_pending: bool} | {url: U, query: PROMQL}
//   restic: {repository: NAME, max_age_ms: N, host: H, tag: T}
// Shape errors name path:line: field; the value rules are ValidateProbeSpec's.
#pragma once

#include <set>
#include <string>

#include "failover/v1/agent.pb.h"
#include "failover/yaml_config.h"

namespace failover {

// The http keys this file adds (for the caller's CheckKeys).
inline const std::set<std::string>& HttpBodyKeys() {
  static const std::set<std::string> keys = {"body_contains", "json_field", "json_equals", "max_body_bytes"};
  return keys;
}
absl::Status ParseHttpBodyFields(const YamlFields& f, const YAML::Node& h, const std::string& field, v1::HttpProbe* out);
absl::Status ParsePrometheusProbe(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                  v1::PrometheusProbe* out);
absl::Status ParseResticProbe(const YamlFields& f, const YAML::Node& n, const std::string& field, v1::ResticProbe* out);

}  // namespace failover
