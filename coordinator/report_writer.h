// Renders a Report as the seed's text log and as JSON, and writes both files.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// The seed's sections: initial state, operations executed, health results, final state; plus
// the plan's steps and a summary on top.
std::string RenderText(const v1::Report& report);
// The report proto as JSON (field names as in the proto).
std::string RenderJson(const v1::Report& report);
// Stores ComputeRecoveryMetrics in report->metrics, then writes
// <dir>/failover_report_<UTC stamp>_<run id suffix>.log, .json, .md, .junit.xml and .html (each
// through a .tmp file and a rename); returns the .log path and records all paths in report->files.
absl::StatusOr<std::string> WriteReportFiles(const std::string& dir, v1::Report* report);

}  // namespace failover::coordinator
