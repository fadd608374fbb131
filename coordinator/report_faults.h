// Injected faults and chaos rounds (Report.faults) in the words every report format shares. Pure.
#pragma once

#include <string>
#include <vector>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// Column heads of FaultRows.
std::vector<std::string> FaultColumns();
// One row per fault: round, host, unit, signal, injected at, detected at, recovered at, recovered
// by, time to detect, MTTR, down at once, note.
std::vector<std::vector<std::string>> FaultRows(const v1::Report& r);
// {label, value}: kind, seed, rounds, --max-down, faults injected/recovered, max and median MTTR.
std::vector<std::pair<std::string, std::string>> FaultSummaryRows(const v1::Report& r);
// The text log's "== Injected faults ==" section ("" when the report has no faults).
std::string RenderFaultsText(const v1::Report& r);
// The Markdown section ("" when none).
std::string RenderFaultsMarkdown(const v1::Report& r);
// The HTML section: a timeline marking each fault (injected, detected, recovered) and the table.
std::string RenderFaultsHtml(const v1::Report& r);
// Median and max MTTR over the recovered faults (0 when none).
int64_t MedianMttrUs(const v1::Report& r);
int64_t MaxMttrUs(const v1::Report& r);

}  // namespace failover::coordinator
