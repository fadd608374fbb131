// The one reader of values a config names instead of writing them: {env: VAR[, default: x]},
// {file: PATH} or a literal. Parsers only record the reference (parsing stays pure); a separate
// resolve step calls ResolveValueRef.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace failover {

struct ValueRef {
  enum class Kind { kLiteral, kEnv, kFile };
  Kind kind = Kind::kLiteral;
  std::string text;                     // the literal, the variable name or the file path
  std::optional<std::string> fallback;  // {env: VAR, default: x}: used when VAR is unset or empty
  std::string where;                    // "file:line: field", the prefix of every error
};

// The value: the literal; the variable from `env` (or the fallback); the file's content with
// surrounding whitespace trimmed. INVALID_ARGUMENT "<where>: ..." when unset, unreadable or empty.
absl::StatusOr<std::string> ResolveValueRef(const ValueRef& ref, const std::map<std::string, std::string>& env);

// The process environment as a map (what binaries pass to the resolve step).
std::map<std::string, std::string> ProcessEnvironment();

}  // namespace failover
