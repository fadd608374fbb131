// What users saw (Report.availability) in the words every report format shares. Pure.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// {label, value} rows: checked URL, requests, failures, unavailable time, longest window.
std::vector<std::pair<std::string, std::string>> AvailabilitySummaryRows(const v1::Availability& a);
// {start, end, duration, failures, detail} per window, "(open-ended)" marked; and a last row
// counting the windows not kept when there were more than the report holds.
std::vector<std::vector<std::string>> AvailabilityWindowRows(const v1::Availability& a);
// The text log's "== What users saw ==" section ("" when the report has no availability block).
std::string RenderAvailabilityText(const v1::Report& r);

}  // namespace failover::coordinator
