// The one place where the wire's enums meet words: the CLI's and the report's words for mode,
// failure policy and severity, and the agent's systemd job result text. Decisions use the enums.
#pragma once

#include <optional>
#include <string>

#include "coordinator/config.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

v1::RunMode ToWire(Mode m);
v1::FailurePolicyKind ToWire(FailurePolicy p);
// nullopt for UNSPECIFIED (or a value this build does not know).
std::optional<Mode> FromWire(v1::RunMode m);
std::optional<FailurePolicy> FromWire(v1::FailurePolicyKind p);
// "info", "ok", "warn", "error".
std::string SeverityWord(v1::EventSeverity s);
// "done" → DONE, "would-run" → WOULD_RUN, "skipped-already-*" → ALREADY, "timeout", "start-limit-hit",
// "error"; any other systemd result (failed, canceled, dependency, skipped...) → FAILED.
v1::JobResult JobResultOf(const std::string& result);
// The record's job_result, or (when the agent left it unset) the one its `result` text names.
v1::JobResult JobResultOf(const v1::OperationRecord& op);
// True when the job did what the step asked (done, would run in a dry run, or was not needed: skipped).
bool JobSucceeded(v1::JobResult r);

}  // namespace failover::coordinator
