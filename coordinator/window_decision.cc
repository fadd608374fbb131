#include "coordinator/window_decision.h"

#include "absl/strings/str_cat.h"

namespace failover::coordinator {
namespace {

std::string NextWindowText(const WindowPosition& pos) {
  if (!pos.next) return "no window opens in the next 8 days";
  return absl::StrCat("the next window opens ", DescribeTime(pos.next->start, *pos.next->window), " (",
                      DescribeWindow(*pos.next->window), ")");
}

}  // namespace

WindowDecision DecideWindow(const Config& config, absl::Time now, bool execute, bool force) {
  WindowDecision d;
  if (!execute || config.windows.empty()) return d;
  const WindowPosition pos = LocateWindows(config.windows, now);
  if (pos.current) {
    const MaintenanceWindow& w = *pos.current->window;
    d.note = absl::StrCat("inside the maintenance window ", DescribeWindow(w), ", which ends ",
                          DescribeTime(pos.current->end, w));
    if (config.on_window_end == WindowEndPolicy::kStop) {
      d.stop_at = pos.current->end;
      d.stop_reason = absl::StrCat("the maintenance window ", DescribeWindow(w), " ended at ",
                                   DescribeTime(pos.current->end, w), " (on_window_end: stop)");
      absl::StrAppend(&d.note, "; the run stops at its next safe point then");
    }
    return d;
  }
  if (force) {
    d.note = absl::StrCat("FORCED outside every maintenance window (--force); ", NextWindowText(pos));
    return d;
  }
  d.allowed = false;
  d.note = absl::StrCat("refused: outside every maintenance window; ", NextWindowText(pos),
                        ". Run then, or pass --force to act now (recorded in the report and the log)");
  return d;
}

}  // namespace failover::coordinator
