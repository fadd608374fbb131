#include "cli/live_view.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "failover/unit_state.h"
#include "google/protobuf/util/json_util.h"

namespace failover::cli {
namespace {

const char* Mark(v1::EventSeverity s) {
  switch (s) {
    case v1::SEVERITY_ERROR: return "✗";
    case v1::SEVERITY_OK: return "✓";
    case v1::SEVERITY_WARN: return "!";
    default: return "·";
  }
}

const char* Color(v1::EventSeverity s) {
  switch (s) {
    case v1::SEVERITY_ERROR: return "\033[31m";
    case v1::SEVERITY_OK: return "\033[32m";
    case v1::SEVERITY_WARN: return "\033[33m";
    default: return "";
  }
}

std::string Seconds(int64_t us) { return absl::StrFormat("%.1fs", (us > 0 ? us : 0) / 1e6); }

// The row's words for a job event: "stopping", "stopped", "start failed", "would stop"...
std::string JobState(v1::UnitEventKind kind, v1::Operation op, const std::string& skip_reason) {
  const bool stop = op == v1::OPERATION_STOP;
  switch (kind) {
    case v1::UNIT_EVENT_JOB_ISSUED: return stop ? "stopping" : "starting";
    case v1::UNIT_EVENT_JOB_DONE: return stop ? "stopped" : "active";
    case v1::UNIT_EVENT_JOB_FAILED: return absl::StrCat(OperationName(op), " failed");
    case v1::UNIT_EVENT_WOULD_RUN: return absl::StrCat("would ", OperationName(op));
    case v1::UNIT_EVENT_SKIPPED: return absl::StrCat(OperationName(op), " skipped: ", skip_reason);
    default: return "";
  }
}

// Whether the row's clock stops at this state (it ends the step's work on the unit for now).
bool Settled(v1::UnitEventKind kind, v1::Operation op) {
  if (kind == v1::UNIT_EVENT_JOB_DONE) return op != v1::OPERATION_STOP;  // stopped: the downtime ticks on
  return kind == v1::UNIT_EVENT_JOB_FAILED || kind == v1::UNIT_EVENT_WOULD_RUN || kind == v1::UNIT_EVENT_SKIPPED;
}

}  // namespace

LiveStyle ChooseLiveStyle(bool json, bool plain, bool output_is_tty, const char* term) {
  if (json) return LiveStyle::kJson;
  if (plain || !output_is_tty || term == nullptr || *term == '\0' || std::strcmp(term, "dumb") == 0)
    return LiveStyle::kPlain;
  return LiveStyle::kTty;
}

LiveView::Row* LiveView::FindOrAddRow(const std::string& host, const std::string& unit) {
  for (auto& r : rows_)
    if (r.host == host && r.unit == unit) return &r;
  Row row;
  row.host = host;
  row.unit = unit;
  rows_.push_back(std::move(row));
  return &rows_.back();
}

bool LiveView::Apply(const v1::RunEvent& e) {
  const v1::UnitEventKind kind = e.unit_event();
  if (kind == v1::UNIT_EVENT_GATE_PASSED || kind == v1::UNIT_EVENT_GATE_FAILED) return ApplyGate(e);
  const std::string state = JobState(kind, e.operation(), e.skip_reason());
  if (state.empty() || e.host().empty() || e.unit().empty()) return false;
  Row* row = FindOrAddRow(e.host(), e.unit());
  const bool new_step = row->step != e.step_id();
  if (new_step) {
    row->step = e.step_id();
    row->since_us = e.elapsed_us();
    row->gate.clear();
  }
  // A dry run says everything a step would do on the unit: "stop skipped: already inactive, would start".
  const bool plan_words = kind == v1::UNIT_EVENT_WOULD_RUN || kind == v1::UNIT_EVENT_SKIPPED;
  row->state = !new_step && plan_words && row->done ? absl::StrCat(row->state, ", ", state) : state;
  row->done = Settled(kind, e.operation());
  row->done_us = e.elapsed_us();
  return true;
}

bool LiveView::ApplyGate(const v1::RunEvent& e) {
  const bool passed = e.unit_event() == v1::UNIT_EVENT_GATE_PASSED;
  bool any = false;
  for (auto& r : rows_) {
    if (r.host != e.host() || r.step != e.step_id() || e.step_id().empty()) continue;
    r.gate = absl::StrCat(passed ? "✓ " : "✗ ", e.probe());
    any = true;
  }
  return any;  // a gate of no step (before or after the run) is a line of its own
}

std::string LiveView::Line(const v1::RunEvent& e) const {
  const char* on = color_ ? Color(e.level()) : "";
  return absl::StrFormat("%s[%8.3fs] %s %-10s %-24s %s%s", on, e.elapsed_us() / 1e6, Mark(e.level()),
                         e.host().empty() ? "-" : e.host(), e.unit().empty() ? "-" : e.unit(), e.message(),
                         *on ? "\033[0m" : "");
}

std::string LiveView::Frame(int64_t now_us) const {
  std::string out = absl::StrFormat("run %s  %s\n", run_id_.empty() ? "-" : run_id_, Seconds(now_us));
  absl::StrAppend(&out, absl::StrFormat("%-10s %-26s %-34s %8s  %s\n", "HOST", "UNIT", "STATE", "ELAPSED", "GATE"));
  for (const auto& r : rows_)
    absl::StrAppend(&out, absl::StrFormat("%-10s %-26s %-34s %8s  %s\n", r.host, r.unit, r.state,
                                          Seconds((r.done ? r.done_us : now_us) - r.since_us),
                                          r.gate.empty() ? "-" : r.gate));
  return out;
}

std::string LiveView::Redraw(const std::vector<std::string>& above, int64_t now_us) {
  std::string out;
  // Cursor up over the frame on screen, then every line cleared and rewritten. Lines above the
  // frame stay (messages that belong to no row); the frame never shrinks, so nothing is left over.
  if (printed_lines_ > 0) absl::StrAppend(&out, "\033[", printed_lines_, "A");
  for (const auto& line : above) absl::StrAppend(&out, "\r\033[2K", line, "\n");
  const std::string frame = Frame(now_us);
  printed_lines_ = 0;
  size_t from = 0;
  for (size_t nl = frame.find('\n'); nl != std::string::npos; from = nl + 1, nl = frame.find('\n', from)) {
    absl::StrAppend(&out, "\r\033[2K", frame.substr(from, nl - from), "\n");
    ++printed_lines_;
  }
  return out;
}

std::string LiveView::OnEvent(const v1::RunEvent& e, int64_t now_us) {
  if (run_id_.empty()) run_id_ = e.run_id();
  if (style_ == LiveStyle::kJson) {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(e, &json, o);
    return json + "\n";
  }
  if (style_ == LiveStyle::kPlain) return Line(e) + "\n";
  if (Apply(e)) return Redraw({}, now_us);
  return Redraw({Line(e)}, now_us);
}

std::string LiveView::Tick(int64_t now_us) {
  if (style_ != LiveStyle::kTty || printed_lines_ == 0) return "";
  return Redraw({}, now_us);
}

}  // namespace failover::cli
