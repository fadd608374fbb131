// Whether an executed run may start now, given the maintenance windows (pure, planner room).
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "coordinator/config.h"

namespace failover::coordinator {

struct WindowDecision {
  bool allowed = true;
  // For the report and the log: "" when the config has no windows or the run is a dry run;
  // else which window the run is in, or why it was refused / forced, naming the next window.
  std::string note;
  // Inside a window with on_window_end: stop: when the run must stop at its next safe point.
  std::optional<absl::Time> stop_at;
  std::string stop_reason;  // "the maintenance window ... ended at ..."
};

// Dry runs and configs without windows: allowed, no note. Inside a window: allowed (stop_at =
// its end under on_window_end: stop). Outside: refused naming the next window, unless `force`,
// which is allowed and says FORCED in the note.
WindowDecision DecideWindow(const Config& config, absl::Time now, bool execute, bool force);

}  // namespace failover::coordinator
