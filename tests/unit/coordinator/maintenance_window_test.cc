#include "coordinator/maintenance_window.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

MaintenanceWindow Window(std::vector<absl::Weekday> days, const std::string& start, const std::string& end,
                         const std::string& tz) {
  MaintenanceWindow w;
  w.days = std::move(days);
  w.start_s = *ParseTimeOfDay(start);
  w.end_s = *ParseTimeOfDay(end);
  w.tz_name = tz;
  w.tz = *LoadZone(tz);
  return w;
}

absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

TEST(MaintenanceWindow, SundayTwoToFourMadridContainsSundayThreeLocalInWinter) {
  const std::vector<MaintenanceWindow> ws = {Window({absl::Weekday::sunday}, "02:00", "04:00", "Europe/Madrid")};
  // 2026-12-06 is a Sunday; Madrid is UTC+1 in December.
  WindowPosition pos = LocateWindows(ws, At("2026-12-06T02:00:00Z"));
  ASSERT_TRUE(pos.current.has_value());
  EXPECT_EQ(pos.current->end, At("2026-12-06T03:00:00Z"));
}

TEST(MaintenanceWindow, OutsideNamesTheNextOpeningInLocalAndUtcTime) {
  const std::vector<MaintenanceWindow> ws = {Window({absl::Weekday::sunday}, "02:00", "04:00", "Europe/Madrid")};
  WindowPosition pos = LocateWindows(ws, At("2026-12-01T12:00:00Z"));  // a Tuesday
  EXPECT_FALSE(pos.current.has_value());
  ASSERT_TRUE(pos.next.has_value());
  EXPECT_EQ(pos.next->start, At("2026-12-06T01:00:00Z"));
  EXPECT_EQ(DescribeTime(pos.next->start, *pos.next->window), "Sun 2026-12-06 02:00 Europe/Madrid (01:00 UTC)");
}

TEST(MaintenanceWindow, FollowsDaylightSavingTime) {
  const std::vector<MaintenanceWindow> ws = {Window({absl::Weekday::sunday}, "02:00", "04:00", "Europe/Madrid")};
  // 2026-07-05 is a Sunday; Madrid is UTC+2 in summer: the window opens at 00:00 UTC.
  WindowPosition pos = LocateWindows(ws, At("2026-07-05T00:30:00Z"));
  ASSERT_TRUE(pos.current.has_value());
  EXPECT_EQ(pos.current->start, At("2026-07-05T00:00:00Z"));
}

TEST(MaintenanceWindow, AWindowCrossingMidnightBelongsToTheDayItStarts) {
  const std::vector<MaintenanceWindow> ws = {Window({absl::Weekday::saturday}, "23:00", "01:00", "UTC")};
  // Sunday 2026-12-06 00:30 UTC is inside Saturday's 23:00-01:00 occurrence.
  WindowPosition pos = LocateWindows(ws, At("2026-12-06T00:30:00Z"));
  ASSERT_TRUE(pos.current.has_value());
  EXPECT_EQ(pos.current->end, At("2026-12-06T01:00:00Z"));
  EXPECT_FALSE(LocateWindows(ws, At("2026-12-06T23:30:00Z")).current.has_value()) << "Sunday is not a window day";
}

TEST(MaintenanceWindow, NoDaysMeansEveryDayAndTheEndIsExclusive) {
  const std::vector<MaintenanceWindow> ws = {Window({}, "10:00", "10:00:30", "UTC")};
  EXPECT_TRUE(LocateWindows(ws, At("2026-12-02T10:00:00Z")).current.has_value());
  EXPECT_FALSE(LocateWindows(ws, At("2026-12-02T10:00:30Z")).current.has_value());
  EXPECT_EQ(DescribeWindow(ws[0]), "daily 10:00-10:00:30 UTC");
}

TEST(MaintenanceWindow, ParsersRefuseWhatIsNotADayATimeOrAZone) {
  EXPECT_EQ(*ParseWeekday("sunday"), absl::Weekday::sunday);
  EXPECT_EQ(*ParseWeekday("Mon"), absl::Weekday::monday);
  EXPECT_FALSE(ParseWeekday("Funday").ok());
  EXPECT_EQ(*ParseTimeOfDay("02:30"), 2 * 3600 + 30 * 60);
  for (const char* bad : {"24:00", "2:00", "02:60", "02", "02:00:00:00", "ab:cd", ""})
    EXPECT_FALSE(ParseTimeOfDay(bad).ok()) << bad;
  EXPECT_FALSE(LoadZone("Mars/Olympus_Mons").ok());
}

}  // namespace
}  // namespace failover::coordinator
