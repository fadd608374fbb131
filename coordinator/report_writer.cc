#include "report_writer.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/report_gates.h"
#include "coordinator/report_html.h"
#include "coordinator/report_junit.h"
#include "coordinator/report_markdown.h"
#include "coordinator/report_availability.h"
#include "coordinator/report_faults.h"
#include "coordinator/report_metrics.h"
#include "coordinator/run_executor.h"
#include "failover/clock.h"
#include "failover/logging.h"
#include "failover/unit_state.h"
#include "failover/worker_pool.h"
#include "google/protobuf/util/json_util.h"

namespace failover::coordinator {
namespace {

void StateTable(std::string* out, const google::protobuf::RepeatedPtrField<v1::UnitState>& states) {
  if (states.empty()) {
    absl::StrAppend(out, "  (none)\n");
    return;
  }
  absl::StrAppend(out, absl::StrFormat("  %-10s %-26s %-10s %-12s %8s %6s %-16s %s\n", "HOST", "UNIT", "ACTIVE", "SUB",
                                       "MAINPID", "EXIT", "RESULT", "SINCE"));
  for (const auto& s : states)
    absl::StrAppend(out, absl::StrFormat("  %-10s %-26s %-10s %-12s %8d %6d %-16s %s\n", s.host(), s.unit(),
                                         s.active_state(), s.sub_state(), s.main_pid(), s.exec_main_status(),
                                         s.result().empty() ? "-" : s.result(), FormatUnixUs(s.since_unix_us())));
}

// The gates before and after the run, side by side in one table, and the gate notes.
void GatesText(std::string* out, const v1::Report& r) {
  absl::StrAppend(out, "\n== Gates (before → after) ==\n");
  for (const auto& n : GateNotes(r)) absl::StrAppend(out, "  ", n, "\n");
  const auto rows = GateRows(r);
  if (rows.empty()) return absl::StrAppend(out, "  (none)\n");
  absl::StrAppend(out, absl::StrFormat("  %-7s %-20s %-12s %-7s %10s %4s  %s\n", "PHASE", "GATE", "WHERE", "RESULT",
                                       "LATENCY", "TRY", "TARGET: MESSAGE"));
  for (const auto& row : rows)
    absl::StrAppend(out, absl::StrFormat("  %-7s %-20s %-12s %-7s %10s %4s  %s: %s\n", row[0], row[1], row[2], row[3],
                                         row[4], row[5], row[6], row[7]));
}

}  // namespace

std::string RenderText(const v1::Report& r) {
  std::string out;
  absl::StrAppend(&out, "failover report — run ", r.run_id(), "\n");
  absl::StrAppend(&out, "outcome:   ", OutcomeName(r.outcome()), r.dry_run() ? " (DRY RUN: nothing was changed)" : "",
                  "\n");
  absl::StrAppend(&out, "summary:   ", r.summary(), "\n");
  if (!r.stopped_by().empty()) absl::StrAppend(&out, "stopped by: ", r.stopped_by(), "\n");
  if (r.has_stop_condition()) absl::StrAppend(&out, "stopped:   ", StopConditionText(r), "\n");
  if (r.forced())
    absl::StrAppend(&out, "forced:    yes (--force over failing pre-flight gates: ",
                    absl::StrJoin(r.forced_failing_gates(), ", "), ")\n");
  if (!r.maintenance_window().empty()) absl::StrAppend(&out, "window:    ", r.maintenance_window(), "\n");
  if (!r.files_error().empty()) absl::StrAppend(&out, "files:     NOT written: ", r.files_error(), "\n");
  absl::StrAppend(&out, "mode:      ", r.mode(), ", max_parallel ", r.max_parallel(), ", failure policy ",
                  r.failure_policy(), "\n");
  absl::StrAppend(&out, "services:  ", absl::StrJoin(r.services(), " → "), "\n");
  absl::StrAppend(&out, "config:    ", r.config_path(), "\n");
  absl::StrAppend(&out, "started:   ", FormatUnixUs(r.started_at_unix_us()), "\n");
  absl::StrAppend(&out, "finished:  ", FormatUnixUs(r.finished_at_unix_us()),
                  r.finished_at_unix_us() > 0
                      ? absl::StrFormat(" (%.3f s)", (r.finished_at_unix_us() - r.started_at_unix_us()) / 1e6)
                      : "",
                  "\n");

  absl::StrAppend(&out, "\n== Initial state ==\n");
  StateTable(&out, r.initial_state());

  absl::StrAppend(&out, "\n== Plan ==\n");
  for (const auto& s : r.steps()) {
    absl::StrAppend(&out, absl::StrFormat("  %-28s %-8s %-8s %-16s on %s", s.id(), StepStatusText(s.status()),
                                          OperationName(s.operation()), s.service(), absl::StrJoin(s.hosts(), ",")));
    if (s.started_at_unix_us() > 0 && s.finished_at_unix_us() > 0)
      absl::StrAppend(&out, absl::StrFormat("  (%.1f ms)", (s.finished_at_unix_us() - s.started_at_unix_us()) / 1e3));
    if (!s.reason().empty()) absl::StrAppend(&out, "\n      reason: ", s.reason());
    absl::StrAppend(&out, "\n");
  }

  absl::StrAppend(&out, "\n== Operations executed ==\n");
  if (r.operations().empty()) absl::StrAppend(&out, "  (none)\n");
  for (const auto& o : r.operations()) {
    if (IsSkipped(o)) {  // recorded, never issued: no duration
      absl::StrAppend(&out, absl::StrFormat("  %s  %-10s %-26s %-40s step %s\n", FormatUnixUs(o.started_at_unix_us()),
                                            o.host(), o.unit(), SkipLine(o), o.step_id()));
      continue;
    }
    absl::StrAppend(&out, absl::StrFormat("  %s  %-10s %-26s %-6s %-16s %9.1f ms  step %s%s", FormatUnixUs(o.started_at_unix_us()),
                                          o.host(), o.unit(), OperationName(o.operation()), o.result(), o.duration_us() / 1e3,
                                          o.step_id(), o.autonomous() ? "  [by the agent on its own]" : ""));
    if (!o.detail().empty()) absl::StrAppend(&out, "\n      ", o.detail());
    absl::StrAppend(&out, "\n");
  }

  absl::StrAppend(&out, "\n== Health results ==\n");
  if (r.health().empty()) absl::StrAppend(&out, "  (none)\n");
  for (const auto& h : r.health())
    absl::StrAppend(&out, absl::StrFormat("  %-10s %-18s %-5s %-9s %8.1f ms %3d attempt(s)  %s  %s%s\n", h.host(),
                                          h.name(), h.kind(), h.healthy() ? "HEALTHY" : "UNHEALTHY", h.latency_us() / 1e3,
                                          h.attempts(), h.target(), h.detail(),
                                          h.step_id().empty() ? "" : "  (gate of " + h.step_id() + ")"));

  GatesText(&out, r);

  absl::StrAppend(&out, "\n== Final state ==\n");
  StateTable(&out, r.final_state());

  absl::StrAppend(&out, RenderMetricsText(r.has_metrics() ? r.metrics() : ComputeRecoveryMetrics(r)));
  absl::StrAppend(&out, RenderAvailabilityText(r));
  absl::StrAppend(&out, RenderFaultsText(r));

  if (!r.errors().empty()) {
    absl::StrAppend(&out, "\n== Errors ==\n");
    for (const auto& e : r.errors()) absl::StrAppend(&out, "  - ", e, "\n");
  }
  return Redact(out);
}

std::string RenderJson(const v1::Report& report) {
  std::string json;
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(report, &json, opts);
  return Redact(json);
}

absl::StatusOr<std::string> WriteReportFiles(const std::string& dir, v1::Report* report) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || !std::filesystem::is_directory(dir, ec)) {
    report->clear_files();
    return absl::InternalError(absl::StrCat("cannot create report directory ", dir, ": ",
                                            ec ? ec.message() : "it exists and is not a directory"));
  }
  // The run id's suffix keeps two runs started in the same second apart.
  const std::string suffix = report->run_id().substr(report->run_id().rfind('-') + 1);
  const std::string base = absl::StrCat(dir, "/failover_report_", CompactUtcStamp(report->started_at_unix_us()), "_",
                                        suffix);
  *report->mutable_metrics() = ComputeRecoveryMetrics(*report);
  const std::vector<std::string> exts = {".log", ".json", ".md", ".junit.xml", ".html"};
  report->clear_files();
  for (const auto& ext : exts) report->add_files(base + ext);
  // Rendered after files and metrics are set, so that every format lists all of them; the five
  // renderers only read the report, each on its own thread (a 1,000-host report takes a while).
  const v1::Report& done = *report;
  std::vector<Task<std::string>> rendering;
  for (auto render : {RenderJson, RenderMarkdown, RenderJunit, RenderHtml})
    rendering.push_back(WorkerPool::Shared().Async([render, &done] { return render(done); }));
  std::vector<std::string> texts = {RenderText(done)};
  for (auto& r : rendering) texts.push_back(r.get());
  std::vector<std::string> written;
  // All or nothing: a failure removes its .tmp and the files this call already wrote.
  auto fail = [&](const std::string& path, const std::string& why) {
    for (const auto& f : written) std::filesystem::remove(f, ec);
    std::filesystem::remove(path + ".tmp", ec);
    report->clear_files();
    return absl::InternalError(absl::StrCat("cannot write report ", path, ": ", why, " (check the disk and the ",
                                            "permissions of ", dir, ")"));
  };
  for (size_t i = 0; i < exts.size(); ++i) {
    const std::string path = base + exts[i];
    const std::string tmp = path + ".tmp";
    std::ofstream out(tmp, std::ios::trunc);
    out << texts[i];
    out.close();
    if (!out) return fail(path, "write failed");
    std::filesystem::rename(tmp, path, ec);
    if (ec) return fail(path, ec.message());
    written.push_back(path);
  }
  return base + ".log";
}

}  // namespace failover::coordinator
