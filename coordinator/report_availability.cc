#include "coordinator/report_availability.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/report_metrics.h"
#include "failover/clock.h"

namespace failover::coordinator {
namespace {

std::string WindowText(const v1::AvailabilityWindow& w) {
  return absl::StrCat(DurationText(w.duration_us()), w.open_ended() ? " (open-ended: still down at the end)" : "",
                      ", from ", FormatUnixUs(w.start_unix_us()), " to ", FormatUnixUs(w.end_unix_us()));
}

}  // namespace

std::vector<std::pair<std::string, std::string>> AvailabilitySummaryRows(const v1::Availability& a) {
  const double pct = a.requests() == 0 ? 0 : 100.0 * a.failures() / a.requests();
  return {{"Checked", absl::StrCat(a.url(), " every ", a.interval_ms(), " ms")},
          {"Requests", absl::StrCat(a.requests(), " over ", DurationText(a.observed_us()))},
          {"Failed requests", absl::StrFormat("%d (%.1f%%)", a.failures(), pct)},
          {"Unavailable", absl::StrCat(DurationText(a.unavailable_us()), " in ", a.windows_size() + a.windows_dropped(),
                                       " window(s)")},
          {"Longest unavailable", a.has_longest() ? WindowText(a.longest()) : "none: every request succeeded"}};
}

std::vector<std::vector<std::string>> AvailabilityWindowRows(const v1::Availability& a) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : a.windows())
    rows.push_back({FormatUnixUs(w.start_unix_us()), FormatUnixUs(w.end_unix_us()),
                    absl::StrCat(DurationText(w.duration_us()), w.open_ended() ? " (open-ended)" : ""),
                    absl::StrCat(w.failures()), w.detail()});
  if (a.windows_dropped() > 0)
    rows.push_back({"…", "…", "", "", absl::StrCat(a.windows_dropped(), " more window(s) not kept")});
  return rows;
}

std::string RenderAvailabilityText(const v1::Report& r) {
  if (!r.has_availability()) return "";
  std::string out = "\n== What users saw (availability during the run) ==\n";
  for (const auto& [k, v] : AvailabilitySummaryRows(r.availability()))
    absl::StrAppend(&out, absl::StrFormat("  %-20s %s\n", k + ":", v));
  const auto rows = AvailabilityWindowRows(r.availability());
  if (!rows.empty()) absl::StrAppend(&out, "  Unavailable windows:\n");
  for (const auto& w : rows)
    absl::StrAppend(&out, absl::StrFormat("    %s .. %s  %-28s %3s failed  %s\n", w[0], w[1], w[2], w[3], w[4]));
  return out;
}

}  // namespace failover::coordinator
