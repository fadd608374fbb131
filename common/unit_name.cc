#include "failover/unit_name.h"

#include <fnmatch.h>

#include <array>

#include "absl/strings/str_cat.h"

namespace failover {
namespace {

constexpr std::array<std::string_view, 11> kUnitTypes = {
    "service", "socket", "target", "device", "mount", "automount",
    "swap",    "timer",  "path",   "slice",  "scope"};

bool IsValidChar(char c, bool allow_glob) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (c == ':' || c == '_' || c == '.' || c == '-' || c == '\\' || c == '@') return true;
  return allow_glob && (c == '*' || c == '?' || c == '[' || c == ']');
}

absl::Status Validate(std::string_view name, bool allow_glob) {
  const std::string shown = name.size() > 80 ? std::string(name.substr(0, 80)) + "..." : std::string(name);
  if (name.empty()) return absl::InvalidArgumentError("unit name is empty");
  if (name.size() > kUnitNameMax)
    return absl::InvalidArgumentError(
        absl::StrCat("unit name \"", shown, "\" is ", name.size(), " bytes; systemd allows at most 255"));
  for (char c : name) {
    if (!IsValidChar(c, allow_glob))
      return absl::InvalidArgumentError(absl::StrCat(
          "unit name \"", shown, "\" contains a character systemd does not allow in unit names (byte 0x",
          absl::Hex(static_cast<unsigned char>(c)), "); no paths, spaces or shell syntax"));
  }
  const size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0)
    return absl::InvalidArgumentError(
        absl::StrCat("unit name \"", shown, "\" has no type suffix (e.g. \".service\")"));
  const std::string_view type = name.substr(dot + 1);
  bool known = false;
  for (auto t : kUnitTypes) known = known || t == type;
  if (!known && !(allow_glob && type.find_first_of("*?[") != std::string_view::npos))
    return absl::InvalidArgumentError(absl::StrCat("unit name \"", shown, "\" has unknown type \".",
                                                   std::string(type), "\""));
  const std::string_view prefix = name.substr(0, dot);
  const size_t at = prefix.find('@');
  if (at == 0) return absl::InvalidArgumentError(absl::StrCat("unit name \"", shown, "\" starts with '@'"));
  // "name@.service" is a template: systemd can neither start nor stop it, only its instances.
  if (!allow_glob && at != std::string_view::npos && at + 1 == prefix.size())
    return absl::InvalidArgumentError(absl::StrCat("unit name \"", shown, "\" is a template without an instance; name ",
                                                   "an instance (e.g. \"", std::string(prefix), "1.",
                                                   std::string(type), "\")"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateUnitName(std::string_view name) { return Validate(name, /*allow_glob=*/false); }

absl::StatusOr<UnitAllowlist> UnitAllowlist::Create(std::vector<std::string> patterns) {
  for (const auto& p : patterns) {
    absl::Status s = Validate(p, /*allow_glob=*/true);
    if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("allowlist pattern: ", s.message()));
  }
  UnitAllowlist list;
  list.patterns_ = std::move(patterns);
  return list;
}

bool UnitAllowlist::Allows(std::string_view unit) const {
  const std::string u(unit);
  for (const auto& p : patterns_) {
    if (fnmatch(p.c_str(), u.c_str(), 0) == 0) return true;
  }
  return false;
}

absl::Status UnitAllowlist::Check(std::string_view unit) const {
  absl::Status s = ValidateUnitName(unit);
  if (!s.ok()) return s;
  if (!Allows(unit))
    return absl::PermissionDeniedError(
        absl::StrCat("unit \"", std::string(unit), "\" is not on this agent's allowlist; nothing was changed"));
  return absl::OkStatus();
}

}  // namespace failover
