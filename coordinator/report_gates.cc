#include "coordinator/report_gates.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/report_metrics.h"
#include "failover/clock.h"

namespace failover::coordinator {
namespace {

std::vector<std::string> Row(const char* phase, const v1::GateResult& g) {
  return {phase, g.name(), g.where(), g.passed() ? "PASSED" : "FAILED", DurationText(g.latency_us()),
          absl::StrCat(g.attempts()), g.target(), g.message()};
}

}  // namespace

const std::vector<std::string>& GateColumns() {
  static const std::vector<std::string> kColumns = {"Phase", "Gate", "Where", "Result",
                                                   "Latency", "Attempts", "Target", "Message"};
  return kColumns;
}

std::vector<std::vector<std::string>> GateRows(const v1::Report& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& g : r.gates_before()) rows.push_back(Row("before", g));
  for (const auto& g : r.gates_after()) rows.push_back(Row("after", g));
  return rows;
}

std::string StopConditionText(const v1::Report& r) {
  if (!r.has_stop_condition()) return "";
  const v1::GateTrip& t = r.stop_condition();
  return absl::StrCat("stop condition ", t.name(), " on ", t.where(), " tripped at ", FormatUnixUs(t.tripped_at_unix_us()),
                      ": ", t.message(), " (", t.steps_started(), " step(s) started)");
}

std::vector<std::string> GateNotes(const v1::Report& r) {
  std::vector<std::string> notes;
  if (r.require_healthy()) notes.push_back("require-healthy: the run refuses to start while a pre-flight gate fails");
  if (r.forced())
    notes.push_back(absl::StrCat("FORCED: started with --force although these pre-flight gates failed: ",
                                 absl::StrJoin(r.forced_failing_gates(), ", ")));
  if (!r.stop_conditions().empty())
    notes.push_back(absl::StrCat("stop conditions watched: ", absl::StrJoin(r.stop_conditions(), ", ")));
  if (r.has_stop_condition()) notes.push_back(StopConditionText(r));
  return notes;
}

}  // namespace failover::coordinator
