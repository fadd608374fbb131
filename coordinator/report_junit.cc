#include "coordinator/report_junit.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/report_availability.h"
#include "coordinator/report_gates.h"
#include "coordinator/report_metrics.h"
#include "coordinator/run_executor.h"
#include "coordinator/chaos_planner.h"
#include "failover/clock.h"
#include "failover/logging.h"
#include "failover/unit_state.h"

namespace failover::coordinator {
namespace {

// Secrets are redacted before escaping, so an escaped secret cannot slip past Redact.
std::string Esc(const std::string& s) { return XmlEscape(Redact(s)); }

enum class Verdict { kPass, kFailure, kError, kSkipped };

struct TestCase {
  std::string classname, name;
  double seconds = 0;
  Verdict verdict = Verdict::kPass;
  std::string message, text;
};

std::string Seconds(int64_t us) { return absl::StrFormat("%.3f", us > 0 ? us / 1e6 : 0.0); }

TestCase StepCase(const v1::Report& r, const v1::StepRecord& s) {
  TestCase c;
  c.classname = "failover.step";
  c.name = s.id();
  if (s.started_at_unix_us() > 0 && s.finished_at_unix_us() > s.started_at_unix_us())
    c.seconds = (s.finished_at_unix_us() - s.started_at_unix_us()) / 1e6;
  c.text = absl::StrCat(OperationName(s.operation()), " ", s.service(), " on ", absl::StrJoin(s.hosts(), ","),
                        ": ", StepStatusText(s.status()));
  for (const auto& o : r.operations())
    if (o.step_id() == s.id())
      absl::StrAppend(&c.text, "\n", o.host(), " ", o.unit(), " ", OperationName(o.operation()), " ", o.result(), " in ",
                      DurationText(o.duration_us()), o.detail().empty() ? "" : " (" + o.detail() + ")");
  if (s.status() == v1::STEP_FAILED) {
    c.verdict = Verdict::kFailure;
    c.message = s.reason().empty() ? "step failed" : s.reason();
  } else if (s.status() == v1::STEP_NOT_RUN) {
    c.verdict = Verdict::kSkipped;
    c.message = s.reason().empty() ? "not run: the run stopped before this step" : s.reason();
  } else if (s.status() == v1::STEP_RUNNING || s.status() == v1::STEP_STATUS_UNSPECIFIED) {
    c.verdict = Verdict::kError;
    c.message = absl::StrCat("step never finished (", StepStatusText(s.status()), ")");
  }
  return c;
}

// One per operation a step recorded but did not issue ("stop skipped: already inactive").
TestCase SkippedOperationCase(const v1::OperationRecord& o) {
  TestCase c;
  c.classname = absl::StrCat("failover.step.", o.step_id());
  c.name = absl::StrCat(OperationName(o.operation()), " ", o.unit(), "@", o.host());
  c.verdict = Verdict::kSkipped;
  c.message = SkipLine(o);
  c.text = o.detail();
  return c;
}

TestCase ProbeCase(const v1::ProbeResult& h) {
  TestCase c;
  c.classname = h.step_id().empty() ? "failover.health" : "failover.gate." + h.step_id();
  c.name = absl::StrCat(h.name(), "@", h.host());
  c.seconds = h.latency_us() / 1e6;
  c.text = absl::StrCat(h.kind(), " ", h.target(), ": ", h.detail(), ", ", h.attempts(), " attempt(s)");
  if (!h.healthy()) {
    c.verdict = Verdict::kFailure;
    c.message = absl::StrCat("UNHEALTHY: ", h.detail());
  }
  return c;
}

// One per gate evaluation. A gate failing before the run is the state before: a failure only when
// the run demanded a healthy start (--require-healthy); after the run, a failing gate fails.
TestCase GateCase(const v1::Report& r, const v1::GateResult& g) {
  TestCase c;
  const bool before = g.phase() == v1::GATE_PHASE_BEFORE;
  c.classname = before ? "failover.gate.before" : "failover.gate.after";
  c.name = absl::StrCat(g.name(), "@", g.where());
  c.seconds = g.latency_us() / 1e6;
  c.text = absl::StrCat(g.kind(), " ", g.target(), ": ", g.passed() ? "PASSED" : "FAILED", ", ", g.message(), ", ",
                        g.attempts(), " attempt(s)");
  if (g.passed()) return c;
  if (before && !r.require_healthy()) {
    absl::StrAppend(&c.text, "\nfailing before the run (the state before; the run went ahead)");
    return c;
  }
  c.verdict = Verdict::kFailure;
  c.message = absl::StrCat("gate ", g.name(), " FAILED ", before ? "before" : "after", " the run: ", g.message());
  return c;
}

// One per stop condition watched: a failure for the one that tripped.
TestCase StopConditionCase(const v1::Report& r, const std::string& name) {
  TestCase c;
  c.classname = "failover.stop-condition";
  c.name = name;
  c.text = "watched during the run";
  if (!r.has_stop_condition() || r.stop_condition().name() != name) return c;
  c.verdict = Verdict::kFailure;
  c.message = StopConditionText(r);
  return c;
}

// One testcase per injected fault / chaos round: passes when the unit came back (systemd or a
// failover), fails when it did not, skipped when nothing was injected (dry run, blast radius).
TestCase FaultCase(const v1::FaultRecord& f) {
  TestCase c;
  c.classname = "failover.fault";
  c.name = absl::StrCat("round ", f.round(), ": SIG", f.signal(), " ", f.unit(), "@", f.host());
  c.seconds = f.mttr_us() / 1e6;
  c.text = absl::StrCat("recovered by ", RecoveredByName(f.recovered_by()), "; time to detect ", f.time_to_detect_us(),
                        " us; MTTR ", f.mttr_us(), " us", f.note().empty() ? "" : "; " + f.note());
  if (f.recovered_by() == v1::RECOVERED_BY_NOT_INJECTED) {
    c.verdict = f.note().rfind("refused", 0) == 0 ? Verdict::kError : Verdict::kSkipped;
    c.message = f.note();
  } else if (f.recovered_by() == v1::RECOVERED_BY_NOT_RECOVERED) {
    c.verdict = Verdict::kFailure;
    c.message = absl::StrCat(f.unit(), " on ", f.host(), " did not recover: ", f.note());
  }
  return c;
}

TestCase OutcomeCase(const v1::Report& r) {
  TestCase c;
  c.classname = "failover.run";
  c.name = "outcome";
  c.seconds = r.finished_at_unix_us() > r.started_at_unix_us() ? (r.finished_at_unix_us() - r.started_at_unix_us()) / 1e6 : 0;
  c.text = absl::StrCat(OutcomeName(r.outcome()), ": ", r.summary());
  for (const auto& e : r.errors()) absl::StrAppend(&c.text, "\n", e);
  if (r.outcome() == v1::RUN_SUCCEEDED) return c;
  const bool failed = r.outcome() == v1::RUN_ABORTED || r.outcome() == v1::RUN_FAILED;
  c.verdict = failed ? Verdict::kFailure : Verdict::kError;
  c.message = r.summary().empty() ? OutcomeName(r.outcome()) : r.summary();
  return c;
}

void AppendCase(std::string* out, const TestCase& c) {
  absl::StrAppend(out, "    <testcase classname=\"", Esc(c.classname), "\" name=\"", Esc(c.name),
                  "\" time=\"", absl::StrFormat("%.3f", c.seconds), "\">\n");
  const std::string msg = Esc(c.message);
  switch (c.verdict) {
    case Verdict::kFailure: absl::StrAppend(out, "      <failure message=\"", msg, "\">", msg, "</failure>\n"); break;
    case Verdict::kError: absl::StrAppend(out, "      <error message=\"", msg, "\">", msg, "</error>\n"); break;
    case Verdict::kSkipped: absl::StrAppend(out, "      <skipped message=\"", msg, "\"/>\n"); break;
    case Verdict::kPass: break;
  }
  if (!c.text.empty()) absl::StrAppend(out, "      <system-out>", Esc(c.text), "</system-out>\n");
  absl::StrAppend(out, "    </testcase>\n");
}

int Count(const std::vector<TestCase>& cases, Verdict v) {
  int n = 0;
  for (const auto& c : cases) n += c.verdict == v ? 1 : 0;
  return n;
}

// The run's recovery metrics as suite properties (microseconds; -1 when unknown).
void AppendProperties(std::string* out, const v1::RecoveryMetrics& m, const v1::Report& r) {
  std::vector<std::pair<std::string, std::string>> p = {
      {"total_run_us", absl::StrCat(m.total_run_us())},     {"systemd_us", absl::StrCat(m.systemd_us())},
      {"gate_wait_us", absl::StrCat(m.gate_wait_us())},     {"tool_us", absl::StrCat(m.tool_us())},
      {"units_down", absl::StrCat(m.units_down())},         {"max_downtime_us", absl::StrCat(m.max_downtime_us())},
      {"median_downtime_us", absl::StrCat(m.median_downtime_us())}, {"open_ended", absl::StrCat(m.open_ended())}};
  if (!m.note().empty()) p.emplace_back("note", m.note());
  for (const auto& u : m.units())
    p.emplace_back(absl::StrCat("downtime_us.", u.host(), ".", u.unit()),
                   absl::StrCat(u.downtime_us(), u.downtime_open_ended() ? " (open-ended)" : ""));
  if (r.has_availability()) {
    const v1::Availability& a = r.availability();
    p.emplace_back("availability.requests", absl::StrCat(a.requests()));
    p.emplace_back("availability.failures", absl::StrCat(a.failures()));
    p.emplace_back("availability.unavailable_us", absl::StrCat(a.unavailable_us()));
    p.emplace_back("availability.longest_unavailable_us", absl::StrCat(a.longest().duration_us()));
    for (int i = 0; i < a.windows_size(); ++i)
      p.emplace_back(absl::StrCat("availability.window.", i),
                     absl::StrCat(FormatUnixUs(a.windows(i).start_unix_us()), " .. ",
                                  FormatUnixUs(a.windows(i).end_unix_us()), " (", a.windows(i).duration_us(), " us",
                                  a.windows(i).open_ended() ? ", open-ended" : "", ")"));
  }
  absl::StrAppend(out, "    <properties>\n");
  for (const auto& [k, v] : p)
    absl::StrAppend(out, "      <property name=\"", Esc(k), "\" value=\"", Esc(v), "\"/>\n");
  absl::StrAppend(out, "    </properties>\n");
}

}  // namespace

std::string XmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char ch : text) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r') out += "\xEF\xBF\xBD";
        else out += static_cast<char>(ch);
    }
  }
  return out;
}

std::string RenderJunit(const v1::Report& r) {
  std::vector<TestCase> cases;
  for (const auto& s : r.steps()) cases.push_back(StepCase(r, s));
  for (const auto& o : r.operations())
    if (IsSkipped(o)) cases.push_back(SkippedOperationCase(o));
  for (const auto& h : r.health()) cases.push_back(ProbeCase(h));
  for (const auto& g : r.gates_before()) cases.push_back(GateCase(r, g));
  for (const auto& g : r.gates_after()) cases.push_back(GateCase(r, g));
  for (const auto& name : r.stop_conditions()) cases.push_back(StopConditionCase(r, name));
  for (const auto& f : r.faults()) cases.push_back(FaultCase(f));
  cases.push_back(OutcomeCase(r));
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  const std::string counts = absl::StrFormat("tests=\"%d\" failures=\"%d\" errors=\"%d\" skipped=\"%d\"", cases.size(),
                                             Count(cases, Verdict::kFailure), Count(cases, Verdict::kError),
                                             Count(cases, Verdict::kSkipped));
  const std::string name = Esc(absl::StrCat("failover run ", r.run_id(), r.dry_run() ? " (dry run)" : ""));
  const std::string time = Seconds(r.finished_at_unix_us() - r.started_at_unix_us());
  absl::StrAppend(&out, "<testsuites name=\"failover\" ", counts, " time=\"", time, "\">\n");
  absl::StrAppend(&out, "  <testsuite name=\"", name, "\" ", counts, " time=\"", time, "\" timestamp=\"",
                  Esc(r.started_at_unix_us() > 0 ? FormatUnixUs(r.started_at_unix_us()) : ""), "\">\n");
  AppendProperties(&out, r.has_metrics() ? r.metrics() : ComputeRecoveryMetrics(r), r);
  for (const auto& c : cases) AppendCase(&out, c);
  absl::StrAppend(&out, "  </testsuite>\n</testsuites>\n");
  return Redact(out);
}

}  // namespace failover::coordinator
