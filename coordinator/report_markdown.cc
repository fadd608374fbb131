#include "coordinator/report_markdown.h"

#include <initializer_list>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "coordinator/report_availability.h"
#include "coordinator/report_gates.h"
#include "coordinator/report_metrics.h"
#include "coordinator/run_executor.h"
#include "failover/clock.h"
#include "failover/logging.h"
#include "failover/unit_state.h"
#include "coordinator/report_faults.h"

namespace failover::coordinator {
namespace {

// A table cell: no pipe, no line break, never empty.
std::string Cell(const std::string& s) {
  if (s.empty()) return "-";
  return absl::StrReplaceAll(s, {{"|", "\\|"}, {"\r\n", " "}, {"\n", " "}, {"\r", " "}});
}

void Row(std::string* out, const std::vector<std::string>& cells) {
  std::vector<std::string> escaped;
  for (const auto& c : cells) escaped.push_back(Cell(c));
  absl::StrAppend(out, "| ", absl::StrJoin(escaped, " | "), " |\n");
}

void Header(std::string* out, const std::vector<std::string>& cells) {
  Row(out, cells);
  std::vector<std::string> rule(cells.size(), "---");
  absl::StrAppend(out, "|", absl::StrJoin(rule, "|"), "|\n");
}

std::string Time(int64_t us) { return us > 0 ? FormatUnixUs(us) : "-"; }

void Summary(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "# Failover report — run `", r.run_id(), "`\n\n");
  Header(out, {"Field", "Value"});
  Row(out, {"Outcome", absl::StrCat(OutcomeName(r.outcome()), r.dry_run() ? " (DRY RUN: nothing was changed)" : "")});
  Row(out, {"Summary", r.summary()});
  Row(out, {"Mode", absl::StrCat(r.mode(), ", max_parallel ", r.max_parallel())});
  Row(out, {"Failure policy", r.failure_policy()});
  Row(out, {"Services", absl::StrJoin(r.services(), " → ")});
  Row(out, {"Config", r.config_path()});
  Row(out, {"Started", Time(r.started_at_unix_us())});
  Row(out, {"Finished", Time(r.finished_at_unix_us())});
  if (!r.maintenance_window().empty()) Row(out, {"Maintenance window", r.maintenance_window()});
  if (r.has_stop_condition()) Row(out, {"Stopped", StopConditionText(r)});
  if (r.forced()) Row(out, {"Forced", absl::StrCat("yes: ", absl::StrJoin(r.forced_failing_gates(), ", "))});
}

void Gates(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "\n## Gates (before → after)\n\n");
  for (const auto& n : GateNotes(r)) absl::StrAppend(out, "- ", Cell(n), "\n");
  if (!GateNotes(r).empty()) absl::StrAppend(out, "\n");
  const auto rows = GateRows(r);
  if (rows.empty()) return absl::StrAppend(out, "_(none)_\n");
  Header(out, GateColumns());
  for (const auto& row : rows) Row(out, row);
}

void Steps(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "\n## Plan\n\n");
  if (r.steps().empty()) return absl::StrAppend(out, "_(none)_\n");
  Header(out, {"Step", "Status", "Operation", "Service", "Hosts", "Gates", "Duration", "Reason"});
  for (const auto& s : r.steps())
    Row(out, {s.id(), StepStatusText(s.status()), OperationName(s.operation()), s.service(), absl::StrJoin(s.hosts(), ", "),
              absl::StrJoin(s.gate_probes(), ", "),
              s.started_at_unix_us() > 0 && s.finished_at_unix_us() > 0
                  ? DurationText(s.finished_at_unix_us() - s.started_at_unix_us())
                  : "-",
              s.reason()});
}

void States(std::string* out, const std::string& title,
            const google::protobuf::RepeatedPtrField<v1::UnitState>& states) {
  absl::StrAppend(out, "\n## ", title, "\n\n");
  if (states.empty()) return absl::StrAppend(out, "_(none)_\n");
  Header(out, {"Host", "Unit", "Active", "Sub", "Main PID", "Exit", "Result", "Restarts", "Since"});
  for (const auto& s : states)
    Row(out, {s.host(), s.unit(), s.active_state(), s.sub_state(), absl::StrCat(s.main_pid()),
              absl::StrCat(s.exec_main_status()), s.result(), absl::StrCat(s.n_restarts()), Time(s.since_unix_us())});
}

void Operations(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "\n## Operations executed\n\n");
  if (r.operations().empty()) return absl::StrAppend(out, "_(none)_\n");
  Header(out, {"Started", "Host", "Unit", "Operation", "Result", "Duration", "Step", "Detail"});
  for (const auto& o : r.operations())
    Row(out, {Time(o.started_at_unix_us()), o.host(), o.unit(), OperationName(o.operation()),
              IsSkipped(o) ? "skipped" : o.result(), IsSkipped(o) ? "-" : DurationText(o.duration_us()), o.step_id(),
              absl::StrCat(o.autonomous() ? "[by the agent on its own] " : "", o.detail())});
}

void Health(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "\n## Health results\n\n");
  if (r.health().empty()) return absl::StrAppend(out, "_(none)_\n");
  Header(out, {"Host", "Probe", "Kind", "Result", "Latency", "Attempts", "Target", "Detail", "Gate of"});
  for (const auto& h : r.health())
    Row(out, {h.host(), h.name(), h.kind(), h.healthy() ? "HEALTHY" : "UNHEALTHY", DurationText(h.latency_us()),
              absl::StrCat(h.attempts()), h.target(), h.detail(), h.step_id().empty() ? "final check" : h.step_id()});
}

std::string Bounded(int64_t us, uint32_t open_ended) {
  if (us < 0) return "-";
  return open_ended > 0 ? absl::StrCat("≥ ", DurationText(us)) : DurationText(us);
}

void Metrics(std::string* out, const v1::RecoveryMetrics& m) {
  absl::StrAppend(out, "\n## Recovery metrics\n\n");
  absl::StrAppend(out, "_From the agents' timestamps only._", m.note().empty() ? "" : " " + m.note() + ".", "\n\n");
  Header(out, {"Run", "Value"});
  Row(out, {"Total run time", DurationText(m.total_run_us())});
  Row(out, {"Waiting on systemd jobs", DurationText(m.systemd_us())});
  Row(out, {"Waiting on gates", DurationText(m.gate_wait_us())});
  Row(out, {"The tool itself", DurationText(m.tool_us())});
  Row(out, {"Units down", absl::StrCat(m.units_down(), m.open_ended() ? absl::StrCat(" (", m.open_ended(), " open-ended)") : "")});
  Row(out, {"Max downtime", Bounded(m.max_downtime_us(), m.open_ended())});
  Row(out, {"Median downtime", Bounded(m.median_downtime_us(), m.open_ended())});
  if (!m.services().empty()) {
    absl::StrAppend(out, "\n");
    Header(out, {"Service", "Units down", "Max downtime", "Median downtime", "Open-ended"});
    for (const auto& s : m.services())
      Row(out, {s.service(), absl::StrCat(s.units_down()), Bounded(s.max_downtime_us(), s.open_ended()),
                Bounded(s.median_downtime_us(), s.open_ended()), absl::StrCat(s.open_ended())});
  }
  if (m.units().empty()) return;
  absl::StrAppend(out, "\n");
  Header(out, {"Host", "Unit", "To stopped", "To active", "To healthy", "Downtime", "Restarts", "Note"});
  for (const auto& u : m.units())
    Row(out, {u.host(), u.unit(), DurationText(u.time_to_stopped_us()), DurationText(u.time_to_active_us()),
              DurationText(u.time_to_healthy_us()), DowntimeText(u), absl::StrCat(u.restarts_observed()), u.note()});
}

void Availability(std::string* out, const v1::Report& r) {
  if (!r.has_availability()) return;
  absl::StrAppend(out, "\n## What users saw\n\n_The global health check, polled by the coordinator during the run._\n\n");
  Header(out, {"Availability", "Value"});
  for (const auto& [k, v] : AvailabilitySummaryRows(r.availability())) Row(out, {k, v});
  const auto rows = AvailabilityWindowRows(r.availability());
  if (rows.empty()) return;
  absl::StrAppend(out, "\n");
  Header(out, {"Unavailable from", "To", "Duration", "Failed requests", "First failure"});
  for (const auto& w : rows) Row(out, w);
}

}  // namespace

std::string RenderMarkdown(const v1::Report& r) {
  std::string out;
  Summary(&out, r);
  Steps(&out, r);
  States(&out, "Initial state", r.initial_state());
  Operations(&out, r);
  Health(&out, r);
  Gates(&out, r);
  States(&out, "Final state", r.final_state());
  Metrics(&out, r.has_metrics() ? r.metrics() : ComputeRecoveryMetrics(r));
  Availability(&out, r);
  absl::StrAppend(&out, RenderFaultsMarkdown(r));
  if (!r.errors().empty()) {
    absl::StrAppend(&out, "\n## Errors\n\n");
    for (const auto& e : r.errors()) absl::StrAppend(&out, "- ", Cell(e), "\n");
  }
  return Redact(out);
}

}  // namespace failover::coordinator
