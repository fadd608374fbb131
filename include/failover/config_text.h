// Rules for a config file's bytes, before any YAML is read: a size bound and valid UTF-8.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace failover {

// Largest config (coordinator, agent, or sent with failoverctl -c) anyone accepts: 1 MiB.
inline constexpr size_t kMaxConfigBytes = 1u << 20;

// INVALID_ARGUMENT "path: ..." when `text` is larger than kMaxConfigBytes, or
// "path:line: ..." at the first byte that is not valid UTF-8 (comments included).
absl::Status CheckConfigText(std::string_view text, const std::string& path);

// Offset of the first byte of `text` that does not start a valid UTF-8 sequence (overlong forms,
// surrogates and code points past U+10FFFF are invalid), or npos when all of it is valid.
size_t FirstInvalidUtf8(std::string_view text);

}  // namespace failover
