#include "failover/yaml_config.h"

#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "failover/config_text.h"

namespace failover {
namespace {

// Visits every mapping (aliases count once per use; the budget stops alias bombs) and refuses
// a key seen twice in one mapping.
absl::Status CheckDuplicateKeys(const YAML::Node& n, const std::string& path, size_t* budget) {
  if (*budget == 0) return absl::InvalidArgumentError(path + ": the config has too many nodes (aliases?)");
  --*budget;
  if (n.IsSequence()) {
    for (const auto& item : n)
      if (absl::Status s = CheckDuplicateKeys(item, path, budget); !s.ok()) return s;
  }
  if (!n.IsMap()) return absl::OkStatus();
  std::map<std::string, int> first_line;
  for (const auto& kv : n) {
    if (kv.first.IsScalar()) {
      const int line = kv.first.Mark().line + 1;
      auto [it, fresh] = first_line.emplace(kv.first.Scalar(), line);
      if (!fresh)
        return absl::InvalidArgumentError(absl::StrCat(path, ":", line, ": ", kv.first.Scalar(),
                                                       ": appears twice in one mapping (lines ", it->second, " and ",
                                                       line, "); keep one"));
    }
    if (absl::Status s = CheckDuplicateKeys(kv.second, path, budget); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool IsWholeNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789-") == std::string::npos;
}

}  // namespace

absl::StatusOr<YAML::Node> LoadConfigYaml(const std::string& text, const std::string& path) {
  if (absl::Status s = CheckConfigText(text, path); !s.ok()) return s;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  size_t budget = 1000000;
  if (absl::Status s = CheckDuplicateKeys(root, path, &budget); !s.ok()) return s;
  return root;
}

std::string YamlFields::Where(const YAML::Node& n, const std::string& field) const {
  return absl::StrCat(path_, ":", n.Mark().line + 1, ": ", field);
}

absl::Status YamlFields::Err(const YAML::Node& n, const std::string& field, const std::string& what) const {
  return absl::InvalidArgumentError(absl::StrCat(Where(n, field), ": ", what));
}

absl::Status YamlFields::CheckKeys(const YAML::Node& n, const std::string& field,
                                   const std::set<std::string>& known) const {
  if (!n.IsMap()) return Err(n, field, "must be a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (known.count(key)) continue;
    std::string list;
    for (const auto& k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
    return Err(kv.first, field.empty() ? key : field + "." + key, "unknown field (known: " + list + ")");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> YamlFields::String(const YAML::Node& n, const std::string& field) const {
  if (!n.IsScalar() || n.Scalar().empty()) return Err(n, field, "must be a non-empty string");
  return n.Scalar();
}

absl::StatusOr<std::vector<std::string>> YamlFields::StringList(const YAML::Node& n, const std::string& field) const {
  if (!n.IsSequence()) return Err(n, field, "must be a list");
  std::vector<std::string> out;
  for (const auto& item : n) {
    auto s = String(item, field);
    if (!s.ok()) return s.status();
    out.push_back(*s);
  }
  return out;
}

absl::StatusOr<uint32_t> YamlFields::Ms(const YAML::Node& n, const std::string& field, uint32_t max) const {
  if (!n.IsScalar()) return Err(n, field, "must be a number of milliseconds");
  const std::string& s = n.Scalar();
  if (!IsWholeNumber(s)) return Err(n, field, "must be a whole number of milliseconds, got \"" + s + "\"");
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (v <= 0) return Err(n, field, "must be greater than 0, got " + s);
  if (v > max) return Err(n, field, absl::StrCat("must be at most ", max, ", got ", s));
  return static_cast<uint32_t>(v);
}

absl::StatusOr<uint32_t> YamlFields::Count(const YAML::Node& n, const std::string& field, uint32_t lo,
                                           uint32_t hi) const {
  if (!n.IsScalar()) return Err(n, field, "must be a number");
  const std::string& s = n.Scalar();
  if (!IsWholeNumber(s)) return Err(n, field, "must be a whole number, got \"" + s + "\"");
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return Err(n, field, absl::StrCat("must be ", lo, "..", hi, ", got ", s));
  return static_cast<uint32_t>(v);
}

absl::StatusOr<bool> YamlFields::Bool(const YAML::Node& n, const std::string& field) const {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) return Err(n, field, "must be true or false");
  return v;
}

absl::StatusOr<ValueRef> YamlFields::Ref(const YAML::Node& n, const std::string& field, bool secret,
                                         const std::set<std::string>& keys) const {
  ValueRef ref;
  ref.where = Where(n, field);
  if (n.IsScalar()) {
    if (secret) return Err(n, field, "secrets must come from {env: VAR} or {file: PATH}, not be written in the config");
    ref.text = n.Scalar();
    return ref;
  }
  if (absl::Status s = CheckKeys(n, field, keys); !s.ok()) return s;
  if (!refs_allowed_) return Err(n, field, refs_refused_);
  if (n["env"] && n["file"]) return Err(n, field, "needs env or file, not both");
  const YAML::Node source = n["env"] ? n["env"] : n["file"];
  if (!source) return Err(n, field, "needs env or file");
  auto text = String(source, field + (n["env"] ? ".env" : ".file"));
  if (!text.ok()) return text.status();
  ref.kind = n["env"] ? ValueRef::Kind::kEnv : ValueRef::Kind::kFile;
  ref.text = *text;
  if (n["default"] && n["env"] && !secret) ref.fallback = n["default"].as<std::string>();
  return ref;
}

}  // namespace failover
