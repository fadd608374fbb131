#include "coordinator/wire_enums.h"

namespace failover::coordinator {

v1::RunMode ToWire(Mode m) { return m == Mode::kRolling ? v1::RUN_MODE_ROLLING : v1::RUN_MODE_STOP_ALL; }

v1::FailurePolicyKind ToWire(FailurePolicy p) {
  switch (p) {
    case FailurePolicy::kAbort: return v1::FAILURE_POLICY_ABORT;
    case FailurePolicy::kContinue: return v1::FAILURE_POLICY_CONTINUE;
    case FailurePolicy::kRestore: return v1::FAILURE_POLICY_RESTORE;
  }
  return v1::FAILURE_POLICY_UNSPECIFIED;
}

std::optional<Mode> FromWire(v1::RunMode m) {
  switch (m) {
    case v1::RUN_MODE_ROLLING: return Mode::kRolling;
    case v1::RUN_MODE_STOP_ALL: return Mode::kStopAll;
    default: return std::nullopt;
  }
}

std::optional<FailurePolicy> FromWire(v1::FailurePolicyKind p) {
  switch (p) {
    case v1::FAILURE_POLICY_ABORT: return FailurePolicy::kAbort;
    case v1::FAILURE_POLICY_CONTINUE: return FailurePolicy::kContinue;
    case v1::FAILURE_POLICY_RESTORE: return FailurePolicy::kRestore;
    default: return std::nullopt;
  }
}

std::string SeverityWord(v1::EventSeverity s) {
  switch (s) {
    case v1::SEVERITY_OK: return "ok";
    case v1::SEVERITY_WARN: return "warn";
    case v1::SEVERITY_ERROR: return "error";
    default: return "info";
  }
}

v1::JobResult JobResultOf(const std::string& result) {
  if (result == "done") return v1::JOB_RESULT_DONE;
  if (result == "would-run") return v1::JOB_RESULT_WOULD_RUN;
  if (result.rfind("skipped-already-", 0) == 0) return v1::JOB_RESULT_ALREADY;
  if (result == "timeout") return v1::JOB_RESULT_TIMEOUT;
  if (result == "start-limit-hit") return v1::JOB_RESULT_START_LIMIT_HIT;
  if (result == "error") return v1::JOB_RESULT_ERROR;
  return v1::JOB_RESULT_FAILED;
}

v1::JobResult JobResultOf(const v1::OperationRecord& op) {
  return op.job_result() != v1::JOB_RESULT_UNSPECIFIED ? op.job_result() : JobResultOf(op.result());
}

bool JobSucceeded(v1::JobResult r) {
  return r == v1::JOB_RESULT_DONE || r == v1::JOB_RESULT_WOULD_RUN || r == v1::JOB_RESULT_ALREADY;
}

}  // namespace failover::coordinator
