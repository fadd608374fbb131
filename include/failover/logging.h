// One named spdlog logger per component; journald-friendly when under systemd.
#pragma once

#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

// absl::string_view is its own type in this Abseil build; let spdlog print it (Status::message()).
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(absl::string_view s, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(std::string_view(s.data(), s.size()), ctx);
  }
};

namespace failover {

// Returns the logger `name`, creating it on first use (stderr sink; no timestamps when
// JOURNAL_STREAM is set, because journald adds its own).
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// Replaces every occurrence of each secret value in `text` with "[REDACTED]".
std::string Redact(std::string text);
// Registers a secret value that Redact() must hide (tokens read from env or file).
void RegisterSecret(const std::string& value);

}  // namespace failover
