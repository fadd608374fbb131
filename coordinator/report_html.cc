#include "coordinator/report_html.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "coordinator/report_availability.h"
#include "coordinator/report_faults.h"
#include "coordinator/report_gates.h"
#include "coordinator/report_metrics.h"
#include "coordinator/run_executor.h"
#include "failover/clock.h"
#include "failover/logging.h"
#include "failover/unit_state.h"

namespace failover::coordinator {
namespace {

using Rows = std::vector<std::vector<std::string>>;

constexpr char kStyle[] = R"(<style>
body{font-family:sans-serif;margin:24px;color:#222}
h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border:1px solid #bbb;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eee}
.bad{color:#b52b27;font-weight:bold}.good{color:#2d7a2d;font-weight:bold}
.note{color:#555;font-style:italic}
.legend span{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px}
</style>
)";

constexpr int kLabelWidth = 260, kBarWidth = 860, kRowHeight = 26, kTop = 24;
constexpr char kStopping[] = "#6c8ebf", kDown[] = "#d9534f", kStarting[] = "#f0ad4e", kHealthy[] = "#5cb85c";

std::string Esc(const std::string& s) {
  return absl::StrReplaceAll(Redact(s), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"},
                                         {"'", "&#39;"}, {"://", "&#58;//"}});
}

std::string Time(int64_t us) { return us > 0 ? FormatUnixUs(us) : "-"; }

void Table(std::string* out, const std::string& title, const std::vector<std::string>& head, const Rows& rows) {
  if (!title.empty()) absl::StrAppend(out, "<h2>", Esc(title), "</h2>\n");
  if (rows.empty()) return absl::StrAppend(out, "<p class=\"note\">(none)</p>\n");
  absl::StrAppend(out, "<table>\n<tr>");
  for (const auto& h : head) absl::StrAppend(out, "<th>", Esc(h), "</th>");
  absl::StrAppend(out, "</tr>\n");
  for (const auto& row : rows) {
    absl::StrAppend(out, "<tr>");
    for (const auto& c : row) {
      const bool bad = c == "FAILED" || c == "UNHEALTHY" || c == "failed";
      const bool good = c == "OK" || c == "HEALTHY" || c == "done" || c == "PASSED";
      absl::StrAppend(out, bad ? "<td class=\"bad\">" : good ? "<td class=\"good\">" : "<td>", Esc(c.empty() ? "-" : c),
                      "</td>");
    }
    absl::StrAppend(out, "</tr>\n");
  }
  absl::StrAppend(out, "</table>\n");
}

Rows StateRows(const google::protobuf::RepeatedPtrField<v1::UnitState>& states) {
  Rows rows;
  for (const auto& s : states)
    rows.push_back({s.host(), s.unit(), s.active_state(), s.sub_state(), absl::StrCat(s.main_pid()),
                    absl::StrCat(s.exec_main_status()), s.result(), absl::StrCat(s.n_restarts()), Time(s.since_unix_us())});
  return rows;
}

const std::vector<std::string> kStateHead = {"Host", "Unit", "Active", "Sub", "Main PID", "Exit", "Result", "Restarts", "Since"};

void Summary(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "<h1>Failover report — run ", Esc(r.run_id()), "</h1>\n");
  const bool ok = r.outcome() == v1::RUN_SUCCEEDED;
  Rows fields = {
      {"Outcome", absl::StrCat(OutcomeName(r.outcome()), r.dry_run() ? " (DRY RUN: nothing was changed)" : "")},
      {"Summary", r.summary()},
      {"Mode", absl::StrCat(r.mode(), ", max_parallel ", r.max_parallel())},
      {"Failure policy", r.failure_policy()},
      {"Services", absl::StrJoin(r.services(), " → ")},
      {"Config", r.config_path()},
      {"Started", Time(r.started_at_unix_us())},
      {"Finished", Time(r.finished_at_unix_us())},
      {"Stopped", r.has_stop_condition() ? StopConditionText(r) : "-"},
      {"Forced", r.forced() ? absl::StrCat("yes: ", absl::StrJoin(r.forced_failing_gates(), ", ")) : "no"}};
  if (!r.maintenance_window().empty()) fields.push_back({"Maintenance window", r.maintenance_window()});
  Table(out, "", {"Field", "Value"}, fields);
  absl::StrAppend(out, "<p class=\"", ok ? "good" : "bad", "\">", Esc(OutcomeName(r.outcome())), "</p>\n");
}

void Tables(std::string* out, const v1::Report& r) {
  Rows steps, ops, health;
  for (const auto& s : r.steps())
    steps.push_back({s.id(), StepStatusText(s.status()), OperationName(s.operation()), s.service(),
                     absl::StrJoin(s.hosts(), ", "), absl::StrJoin(s.gate_probes(), ", "),
                     s.started_at_unix_us() > 0 && s.finished_at_unix_us() > 0
                         ? DurationText(s.finished_at_unix_us() - s.started_at_unix_us())
                         : "-",
                     s.reason()});
  Table(out, "Plan", {"Step", "Status", "Operation", "Service", "Hosts", "Gates", "Duration", "Reason"}, steps);
  Table(out, "Initial state", kStateHead, StateRows(r.initial_state()));
  for (const auto& o : r.operations())
    ops.push_back({Time(o.started_at_unix_us()), o.host(), o.unit(), OperationName(o.operation()),
                   IsSkipped(o) ? "skipped" : o.result(), IsSkipped(o) ? "-" : DurationText(o.duration_us()), o.step_id(),
                   absl::StrCat(o.autonomous() ? "[by the agent on its own] " : "", o.detail())});
  Table(out, "Operations executed", {"Started", "Host", "Unit", "Operation", "Result", "Duration", "Step", "Detail"}, ops);
  for (const auto& h : r.health())
    health.push_back({h.host(), h.name(), h.kind(), h.healthy() ? "HEALTHY" : "UNHEALTHY", DurationText(h.latency_us()),
                      absl::StrCat(h.attempts()), h.target(), h.detail(), h.step_id().empty() ? "final check" : h.step_id()});
  Table(out, "Health results", {"Host", "Probe", "Kind", "Result", "Latency", "Attempts", "Target", "Detail", "Gate of"},
        health);
  absl::StrAppend(out, "<h2>Gates (before → after)</h2>\n");
  for (const auto& n : GateNotes(r)) absl::StrAppend(out, "<p class=\"note\">", Esc(n), "</p>\n");
  Table(out, "", GateColumns(), GateRows(r));
  Table(out, "Final state", kStateHead, StateRows(r.final_state()));
}

std::string Bounded(int64_t us, uint32_t open_ended) {
  if (us < 0) return "-";
  return open_ended > 0 ? absl::StrCat("≥ ", DurationText(us)) : DurationText(us);
}

void MetricsTables(std::string* out, const v1::RecoveryMetrics& m) {
  absl::StrAppend(out, "<h2>Recovery metrics</h2>\n<p class=\"note\">From the agents' timestamps only.",
                  m.note().empty() ? "" : " " + Esc(m.note()) + ".", "</p>\n");
  Table(out, "", {"Run", "Value"},
        {{"Total run time", DurationText(m.total_run_us())},
         {"Waiting on systemd jobs", DurationText(m.systemd_us())},
         {"Waiting on gates", DurationText(m.gate_wait_us())},
         {"The tool itself", DurationText(m.tool_us())},
         {"Units down", absl::StrCat(m.units_down(), m.open_ended() ? absl::StrCat(" (", m.open_ended(), " open-ended)") : "")},
         {"Max downtime", Bounded(m.max_downtime_us(), m.open_ended())},
         {"Median downtime", Bounded(m.median_downtime_us(), m.open_ended())}});
  Rows services, units;
  for (const auto& s : m.services())
    services.push_back({s.service(), absl::StrCat(s.units_down()), Bounded(s.max_downtime_us(), s.open_ended()),
                        Bounded(s.median_downtime_us(), s.open_ended()), absl::StrCat(s.open_ended())});
  if (!services.empty()) Table(out, "", {"Service", "Units down", "Max downtime", "Median downtime", "Open-ended"}, services);
  for (const auto& u : m.units())
    units.push_back({u.host(), u.unit(), DurationText(u.time_to_stopped_us()), DurationText(u.time_to_active_us()),
                     DurationText(u.time_to_healthy_us()), DowntimeText(u), absl::StrCat(u.restarts_observed()), u.note()});
  if (!units.empty())
    Table(out, "", {"Host", "Unit", "To stopped", "To active", "To healthy", "Downtime", "Restarts", "Note"}, units);
}

struct Span {
  int64_t t0 = 0, t1 = 0;
  double X(int64_t t) const { return kLabelWidth + kBarWidth * double(t - t0) / double(t1 - t0); }
};

Span TimelineSpan(const v1::RecoveryMetrics& m, const v1::Report& r) {
  Span s;
  for (const auto& u : m.units())
    // Not stopped_at: a unit down since before the run would stretch the axis back to then.
    for (int64_t t : {u.first_job_at_unix_us(), u.active_at_unix_us(), u.healthy_at_unix_us()}) {
      if (t <= 0) continue;
      s.t0 = s.t0 == 0 ? t : std::min(s.t0, t);
      s.t1 = std::max(s.t1, t);
    }
  for (const auto& st : r.final_state()) s.t1 = std::max(s.t1, st.read_at_unix_us());
  return s;
}

// The row of what users saw: the API's unavailable windows, clipped to the timeline.
void UsersRow(std::string* out, const Span& s, int y, const v1::Availability& a) {
  absl::StrAppend(out, absl::StrFormat("<text x=\"4\" y=\"%d\" font-size=\"12\">users: API (%s)</text>\n",
                                       y + kRowHeight - 9, Esc(a.url())));
  for (const auto& w : a.windows()) {
    const int64_t from = std::max(w.start_unix_us(), s.t0), to = std::min(std::max(w.end_unix_us(), from), s.t1);
    if (to < from) continue;
    absl::StrAppend(out, absl::StrFormat("<rect class=\"bar bar-unavailable\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
                                         "height=\"%d\" fill=\"%s\"><title>API unavailable %s (%d failed)</title></rect>\n",
                                         s.X(from), y + 4, std::max(2.0, s.X(to) - s.X(from)), kRowHeight - 8, kDown,
                                         DurationText(w.duration_us()), w.failures()));
  }
}

void AvailabilityTables(std::string* out, const v1::Report& r) {
  if (!r.has_availability()) return;
  absl::StrAppend(out, "<h2>What users saw</h2>\n<p class=\"note\">The global health check, polled by the coordinator "
                       "during the run.</p>\n");
  Rows summary, windows;
  for (const auto& [k, v] : AvailabilitySummaryRows(r.availability())) summary.push_back({k, v});
  Table(out, "", {"Availability", "Value"}, summary);
  for (const auto& w : AvailabilityWindowRows(r.availability())) windows.push_back(w);
  if (!windows.empty()) Table(out, "", {"Unavailable from", "To", "Duration", "Failed requests", "First failure"}, windows);
}

void Bar(std::string* out, const Span& s, int y, int64_t from, int64_t to, const char* kind, const char* colour,
         const v1::UnitRecovery& u) {
  if (from <= 0) return;
  from = std::max(from, s.t0);
  if (to <= from) return;
  absl::StrAppend(out, absl::StrFormat("<rect class=\"bar bar-%s\" data-host=\"%s\" data-unit=\"%s\" x=\"%.1f\" "
                                       "y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"><title>%s %s: %s %s</title></rect>\n",
                                       kind, Esc(u.host()), Esc(u.unit()), s.X(from), y + 4,
                                       std::max(2.0, s.X(to) - s.X(from)), kRowHeight - 8, colour, Esc(u.host()),
                                       Esc(u.unit()), kind, DurationText(to - from)));
}

void UnitRow(std::string* out, const Span& s, int y, const v1::UnitRecovery& u) {
  absl::StrAppend(out, absl::StrFormat("<text x=\"4\" y=\"%d\" font-size=\"12\">%s %s</text>\n", y + kRowHeight - 9,
                                       Esc(u.host()), Esc(u.unit())));
  const int64_t down_end = u.active_at_unix_us() > 0 ? u.active_at_unix_us() : s.t1;
  const int64_t start_end = u.healthy_at_unix_us() > 0 ? u.healthy_at_unix_us() : s.t1;
  Bar(out, s, y, u.first_job_at_unix_us(), u.stopped_at_unix_us(), "stopping", kStopping, u);
  Bar(out, s, y, u.stopped_at_unix_us(), down_end, "down", kDown, u);
  Bar(out, s, y, u.active_at_unix_us(), start_end, "starting", kStarting, u);
  Bar(out, s, y, u.healthy_at_unix_us(), s.t1, "healthy", kHealthy, u);
}

void Timeline(std::string* out, const v1::RecoveryMetrics& m, const v1::Report& r) {
  absl::StrAppend(out, "<h2>Timeline</h2>\n");
  const Span s = TimelineSpan(m, r);
  if (m.units().empty() || s.t1 <= s.t0)
    return absl::StrAppend(out, "<p class=\"note\">(no timeline: no unit was stopped or started)</p>\n");
  absl::StrAppend(out, "<p class=\"legend\"><span style=\"background:", kStopping, "\"></span>stopping<span style=\"background:",
                  kDown, "\"></span>down<span style=\"background:", kStarting,
                  "\"></span>active, not yet healthy<span style=\"background:", kHealthy, "\"></span>healthy</p>\n");
  const bool users = r.has_availability() && r.availability().windows_size() > 0;
  const int height = kTop + kRowHeight * (m.units_size() + (users ? 1 : 0)) + 4;
  absl::StrAppend(out, absl::StrFormat("<svg id=\"timeline\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
                                       kLabelWidth + kBarWidth + 10, height, kLabelWidth + kBarWidth + 10, height));
  for (int i = 0; i <= 4; ++i) {
    const int64_t t = s.t0 + (s.t1 - s.t0) * i / 4;
    absl::StrAppend(out, absl::StrFormat("<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ccc\"/>"
                                         "<text x=\"%.1f\" y=\"14\" font-size=\"11\" text-anchor=\"%s\">+%s</text>\n",
                                         s.X(t), kTop - 4, s.X(t), height, s.X(t), i == 4 ? "end" : "middle",
                                         DurationText(t - s.t0)));
  }
  for (int i = 0; i < m.units_size(); ++i) UnitRow(out, s, kTop + i * kRowHeight, m.units(i));
  if (users) UsersRow(out, s, kTop + m.units_size() * kRowHeight, r.availability());
  absl::StrAppend(out, "</svg>\n");
}

}  // namespace

std::string RenderHtml(const v1::Report& r) {
  const v1::RecoveryMetrics m = r.has_metrics() ? r.metrics() : ComputeRecoveryMetrics(r);
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  absl::StrAppend(&out, "<title>Failover report ", Esc(r.run_id()), "</title>\n", kStyle, "</head>\n<body>\n");
  Summary(&out, r);
  Timeline(&out, m, r);
  absl::StrAppend(&out, RenderFaultsHtml(r));
  MetricsTables(&out, m);
  AvailabilityTables(&out, r);
  Tables(&out, r);
  if (!r.errors().empty()) {
    Rows errors;
    for (const auto& e : r.errors()) errors.push_back({e});
    Table(&out, "Errors", {"Error"}, errors);
  }
  absl::StrAppend(&out, "</body>\n</html>\n");
  return out;
}

}  // namespace failover::coordinator
