// Helpers the agent's and the coordinator's config parsers share: loading (size, UTF-8, syntax,
// duplicate keys) and typed fields. One error style everywhere:
//   file:line: field: what is wrong (and how to fix it)
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/secret_ref.h"
#include "yaml-cpp/yaml.h"

namespace failover {

// Parses config text after CheckConfigText; refuses YAML syntax errors and keys that appear twice
// in one mapping (yaml-cpp would silently keep the first), naming both lines.
absl::StatusOr<YAML::Node> LoadConfigYaml(const std::string& text, const std::string& path);

// Reads typed fields from one config file; every error is "path:line: field: what".
class YamlFields {
 public:
  explicit YamlFields(std::string path) : path_(std::move(path)) {}

  // Whether {env:}/{file:} references are allowed (not in a config sent with a request).
  void set_refs_allowed(bool allowed, std::string why_not) {
    refs_allowed_ = allowed;
    refs_refused_ = std::move(why_not);
  }
  const std::string& path() const { return path_; }

  absl::Status Err(const YAML::Node& n, const std::string& field, const std::string& what) const;
  // The line prefix "path:line: field" for `n`.
  std::string Where(const YAML::Node& n, const std::string& field) const;

  // `n` must be a mapping whose keys are all in `known`.
  absl::Status CheckKeys(const YAML::Node& n, const std::string& field, const std::set<std::string>& known) const;
  // A non-empty scalar.
  absl::StatusOr<std::string> String(const YAML::Node& n, const std::string& field) const;
  // A list of non-empty scalars.
  absl::StatusOr<std::vector<std::string>> StringList(const YAML::Node& n, const std::string& field) const;
  absl::StatusOr<uint32_t> Ms(const YAML::Node& n, const std::string& field, uint32_t max) const;
  absl::StatusOr<uint32_t> Count(const YAML::Node& n, const std::string& field, uint32_t lo, uint32_t hi) const;
  absl::StatusOr<bool> Bool(const YAML::Node& n, const std::string& field) const;
  // {env: VAR, default: x} | {file: PATH} | "literal" (not for secrets). `keys`: the fields the
  // mapping may hold (a caller may add its own, e.g. the agent's urls).
  absl::StatusOr<ValueRef> Ref(const YAML::Node& n, const std::string& field, bool secret,
                               const std::set<std::string>& keys = {"env", "file", "default"}) const;

 private:
  std::string path_;
  bool refs_allowed_ = true;
  std::string refs_refused_;
};

}  // namespace failover
