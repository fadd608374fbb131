// systemd unit-name rules and the agent's unit allowlist.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace failover {

// Longest unit name systemd accepts (UNIT_NAME_MAX).
inline constexpr size_t kUnitNameMax = 255;

// Checks `name` against systemd's unit-name rules (unit_name_is_valid):
// "prefix[@instance].type", prefix/instance from [A-Za-z0-9:_.\\-] (instance may also hold '@'),
// a known type suffix, at most 255 bytes. Returns INVALID_ARGUMENT naming the unit otherwise.
absl::Status ValidateUnitName(std::string_view name);

// Default-deny list of unit names or globs (fnmatch, e.g. "sls-*.service").
class UnitAllowlist {
 public:
  // Each pattern must itself look like a unit name (globs allowed); an empty list allows nothing.
  static absl::StatusOr<UnitAllowlist> Create(std::vector<std::string> patterns);
  UnitAllowlist() = default;

  bool Allows(std::string_view unit) const;
  // Validates the name, then the allowlist: INVALID_ARGUMENT or PERMISSION_DENIED naming the unit.
  absl::Status Check(std::string_view unit) const;
  const std::vector<std::string>& patterns() const { return patterns_; }

 private:
  std::vector<std::string> patterns_;
};

}  // namespace failover
