#include "coordinator/maintenance_window.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace failover::coordinator {
namespace {

constexpr int kDaySeconds = 24 * 3600;
const char* const kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

int DayIndex(absl::Weekday d) { return static_cast<int>(d); }  // absl: monday = 0

bool OnDay(const MaintenanceWindow& w, absl::CivilDay day) {
  if (w.days.empty()) return true;
  return std::find(w.days.begin(), w.days.end(), absl::GetWeekday(day)) != w.days.end();
}

// The occurrence of `w` that starts on local day `day`.
WindowSpan Occurrence(const MaintenanceWindow& w, absl::CivilDay day) {
  const absl::CivilSecond start_civil = absl::CivilSecond(day) + w.start_s;
  const int length = w.end_s > w.start_s ? w.end_s - w.start_s : w.end_s + kDaySeconds - w.start_s;
  const absl::CivilSecond end_civil = start_civil + length;
  return {absl::FromCivil(start_civil, w.tz), absl::FromCivil(end_civil, w.tz), &w};
}

std::string Hhmm(int seconds) {
  const int h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
  return s == 0 ? absl::StrFormat("%02d:%02d", h, m) : absl::StrFormat("%02d:%02d:%02d", h, m, s);
}

}  // namespace

WindowPosition LocateWindows(const std::vector<MaintenanceWindow>& windows, absl::Time now) {
  WindowPosition pos;
  for (const MaintenanceWindow& w : windows) {
    const absl::CivilDay today = absl::ToCivilDay(now, w.tz);
    for (int offset = -1; offset <= 8; ++offset) {
      const absl::CivilDay day = today + offset;
      if (!OnDay(w, day)) continue;
      const WindowSpan span = Occurrence(w, day);
      if (span.start <= now && now < span.end) {
        if (!pos.current || span.end > pos.current->end) pos.current = span;
      } else if (span.start > now && (!pos.next || span.start < pos.next->start)) {
        pos.next = span;
      }
    }
  }
  return pos;
}

std::string DescribeTime(absl::Time t, const MaintenanceWindow& w) {
  const absl::CivilSecond local = absl::ToCivilSecond(t, w.tz);
  const std::string day = kDayNames[DayIndex(absl::GetWeekday(absl::CivilDay(local)))];
  std::string s = absl::StrCat(day, " ", absl::FormatTime("%Y-%m-%d %H:%M", t, w.tz), " ", w.tz_name);
  if (w.tz_name != "UTC") absl::StrAppend(&s, " (", absl::FormatTime("%H:%M", t, absl::UTCTimeZone()), " UTC)");
  return s;
}

std::string DescribeWindow(const MaintenanceWindow& w) {
  std::vector<std::string> days;
  for (absl::Weekday d : w.days) days.push_back(kDayNames[DayIndex(d)]);
  return absl::StrCat(days.empty() ? "daily" : absl::StrJoin(days, ","), " ", Hhmm(w.start_s), "-", Hhmm(w.end_s), " ",
                      w.tz_name);
}

absl::StatusOr<absl::Weekday> ParseWeekday(const std::string& s) {
  const std::string l = absl::AsciiStrToLower(s);
  static const char* const kFull[] = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"};
  for (int i = 0; i < 7; ++i) {
    if (l == absl::AsciiStrToLower(kDayNames[i]) || l == kFull[i]) return static_cast<absl::Weekday>(i);
  }
  return absl::InvalidArgumentError(absl::StrCat("\"", s, "\" is not a weekday (Mon..Sun)"));
}

absl::StatusOr<int> ParseTimeOfDay(const std::string& s) {
  std::vector<std::string> parts = absl::StrSplit(s, ':');
  int fields[3] = {0, 0, 0};
  const int limits[3] = {23, 59, 59};
  bool ok = parts.size() == 2 || parts.size() == 3;
  for (size_t i = 0; ok && i < parts.size(); ++i) {
    ok = parts[i].size() == 2 && std::isdigit(parts[i][0]) && std::isdigit(parts[i][1]) &&
         absl::SimpleAtoi(parts[i], &fields[i]) && fields[i] <= limits[i];
  }
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("\"", s, "\" is not a time of day (HH:MM or HH:MM:SS)"));
  return fields[0] * 3600 + fields[1] * 60 + fields[2];
}

absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name) {
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz))
    return absl::InvalidArgumentError(
        absl::StrCat("unknown time zone \"", name, "\" (an IANA name such as Europe/Madrid or UTC; needs tzdata)"));
  return tz;
}

}  // namespace failover::coordinator
