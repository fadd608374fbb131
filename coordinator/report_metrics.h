// Recovery metrics of a run, computed only from the timestamps the agents report, and the small
// vocabulary the Markdown, JUnit and HTML renderers share. Pure: no gRPC, curl or sdbus-c++.
#pragma once

#include <cstdint>
#include <string>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// Per (host, unit): time to stopped / active / healthy, downtime (stopped -> first passing gate
// probe after the start), restarts observed; per service and per run: max and median downtime,
// total run time split into systemd jobs, gate waits and the tool itself. See report.proto.
v1::RecoveryMetrics ComputeRecoveryMetrics(const v1::Report& report);

// The metrics as the text log's "== Recovery metrics ==" section.
std::string RenderMetricsText(const v1::RecoveryMetrics& metrics);

// True when the systemd job did what was asked ("done"). One place for the result vocabulary.
bool JobDone(const v1::OperationRecord& op);
// The step's status for humans: "OK", "FAILED", "NOT RUN", "DRY RUN", "RUNNING".
std::string StepStatusText(v1::StepStatus status);
// "12.3 ms", "4.567 s"; "-" for a negative (unknown) duration.
std::string DurationText(int64_t us);
// The downtime with its caveat: "≥ 1.234 s (open-ended)" when the unit was still down.
std::string DowntimeText(const v1::UnitRecovery& unit);

}  // namespace failover::coordinator
