#include "coordinator/window_decision.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

Config WithSundayWindow(WindowEndPolicy policy) {
  Config c;
  MaintenanceWindow w;
  w.days = {absl::Weekday::sunday};
  w.start_s = 2 * 3600;
  w.end_s = 4 * 3600;
  c.windows = {w};
  c.on_window_end = policy;
  return c;
}

const absl::Time kSunday3 = absl::FromCivil(absl::CivilSecond(2026, 12, 6, 3, 0, 0), absl::UTCTimeZone());
const absl::Time kTuesday = absl::FromCivil(absl::CivilSecond(2026, 12, 1, 12, 0, 0), absl::UTCTimeZone());

TEST(WindowDecision, DryRunsAndConfigsWithoutWindowsAreAlwaysAllowedSilently) {
  EXPECT_TRUE(DecideWindow(WithSundayWindow(WindowEndPolicy::kStop), kTuesday, false, false).allowed);
  WindowDecision d = DecideWindow(Config{}, kTuesday, true, false);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.note, "");
}

TEST(WindowDecision, ExecuteOutsideIsRefusedNamingTheNextWindow) {
  WindowDecision d = DecideWindow(WithSundayWindow(WindowEndPolicy::kStop), kTuesday, true, false);
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.note.find("Sun 2026-12-06 02:00 UTC"), std::string::npos) << d.note;
  EXPECT_NE(d.note.find("--force"), std::string::npos) << d.note;
}

TEST(WindowDecision, ForceGoesAheadAndSaysSo) {
  WindowDecision d = DecideWindow(WithSundayWindow(WindowEndPolicy::kStop), kTuesday, true, true);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.note.rfind("FORCED", 0), 0u) << d.note;
  EXPECT_FALSE(d.stop_at.has_value());
}

TEST(WindowDecision, InsideAStopWindowTheRunStopsAtItsEnd) {
  WindowDecision d = DecideWindow(WithSundayWindow(WindowEndPolicy::kStop), kSunday3, true, false);
  EXPECT_TRUE(d.allowed);
  ASSERT_TRUE(d.stop_at.has_value());
  EXPECT_EQ(*d.stop_at, kSunday3 + absl::Hours(1));
  EXPECT_NE(d.stop_reason.find("ended at Sun 2026-12-06 04:00 UTC"), std::string::npos) << d.stop_reason;
}

TEST(WindowDecision, InsideAFinishWindowTheRunIsNotStopped) {
  WindowDecision d = DecideWindow(WithSundayWindow(WindowEndPolicy::kFinish), kSunday3, true, false);
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.stop_at.has_value());
}

}  // namespace
}  // namespace failover::coordinator
