// Maintenance windows: when executed runs may act. Pure (absl time zones from the system's
// tzdata). A window is a local time span on some weekdays in a named time zone; it may cross
// midnight (end <= start) and follows DST (each occurrence is computed in civil time).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"

namespace failover::coordinator {

// What a run inside a window does when the window ends.
enum class WindowEndPolicy { kStop, kFinish };

struct MaintenanceWindow {
  std::vector<absl::Weekday> days;  // empty = every day
  int start_s = 0;                   // seconds after local midnight
  int end_s = 0;                     // end_s <= start_s: ends the next day
  std::string tz_name = "UTC";
  absl::TimeZone tz = absl::UTCTimeZone();
  std::string where;                 // "file:line: windows[i]" for messages
};

// One occurrence of a window.
struct WindowSpan {
  absl::Time start;
  absl::Time end;
  const MaintenanceWindow* window = nullptr;
};

// Where `now` is with respect to `windows`: the occurrence containing it (the one ending last,
// when several do), and the next occurrence starting after it (within 8 days).
struct WindowPosition {
  std::optional<WindowSpan> current;
  std::optional<WindowSpan> next;
};
WindowPosition LocateWindows(const std::vector<MaintenanceWindow>& windows, absl::Time now);

// "Sun 2026-12-06 02:00 Europe/Madrid (01:00 UTC)".
std::string DescribeTime(absl::Time t, const MaintenanceWindow& w);
// "Sun 02:00-04:00 Europe/Madrid" (days listed, or "daily").
std::string DescribeWindow(const MaintenanceWindow& w);

// Parsers for the config's fields: "Sun" / "sunday" (case-insensitive); "HH:MM" or "HH:MM:SS";
// an IANA zone name loaded from tzdata. Errors say what is wrong; the caller adds where.
absl::StatusOr<absl::Weekday> ParseWeekday(const std::string& s);
absl::StatusOr<int> ParseTimeOfDay(const std::string& s);
absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name);

}  // namespace failover::coordinator
