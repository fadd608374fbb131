// Small shared vocabulary about units and operations, used by agent, coordinator and reports.
#pragma once

#include <string>

#include "failover/v1/report.pb.h"

namespace failover {

// "stop", "start", "restart" ("unspecified" otherwise): step ids, events, audit, reports.
inline const char* OperationName(v1::Operation op) {
  switch (op) {
    case v1::OPERATION_STOP: return "stop";
    case v1::OPERATION_START: return "start";
    case v1::OPERATION_RESTART: return "restart";
    default: return "unspecified";
  }
}

// Running or on its way there: what "was running before the run" means everywhere.
inline bool IsActiveState(const std::string& active_state) {
  return active_state == "active" || active_state == "activating" || active_state == "reloading";
}

// True when the operation was recorded but not issued (OperationRecord.skip set).
inline bool IsSkipped(const v1::OperationRecord& op) { return op.skip() != v1::SKIP_REASON_UNSPECIFIED; }

// "stop skipped: already inactive": a skipped operation as the live output and every report show it.
inline std::string SkipLine(const v1::OperationRecord& op) {
  return std::string(OperationName(op.operation())) + " skipped: " + op.skip_reason();
}

}  // namespace failover
