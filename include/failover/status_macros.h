// absl 20220623 has no RETURN_IF_ERROR / ASSIGN_OR_RETURN; these are ours.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FO_CONCAT_INNER(a, b) a##b
#define FO_CONCAT(a, b) FO_CONCAT_INNER(a, b)

#define FO_RETURN_IF_ERROR(expr)                \
  do {                                          \
    ::absl::Status fo_status_ = (expr);         \
    if (!fo_status_.ok()) return fo_status_;    \
  } while (0)

#define FO_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(*tmp)

#define FO_ASSIGN_OR_RETURN(lhs, expr) \
  FO_ASSIGN_OR_RETURN_IMPL(FO_CONCAT(fo_statusor_, __LINE__), lhs, expr)
