#include "coordinator/report_availability.h"

#include "coordinator/report_sample.h"
#include "coordinator/report_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(ReportAvailability, TheTextLogShowsTheLongestWindowAndEveryWindow) {
  const std::string text = RenderText(testing::SampleReport());
  EXPECT_THAT(text, HasSubstr("== What users saw (availability during the run) =="));
  EXPECT_THAT(text, HasSubstr("http://10.77.0.11:8080/health every 100 ms"));
  EXPECT_THAT(text, HasSubstr("25 (49.0%)"));
  EXPECT_THAT(text, HasSubstr("Longest unavailable: 2.000 s (open-ended: still down at the end)"));
  EXPECT_THAT(text, HasSubstr("connection refused"));
}

TEST(ReportAvailability, ARunWithoutTheBlockRendersNoSection) {
  v1::Report r = testing::SampleReport();
  r.clear_availability();
  EXPECT_THAT(RenderText(r), Not(HasSubstr("What users saw")));
}

TEST(ReportAvailability, WindowsNotKeptAreCountedInTheLastRow) {
  v1::Availability a = testing::SampleReport().availability();
  a.set_windows_dropped(7);
  const auto rows = AvailabilityWindowRows(a);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[2][4], "7 more window(s) not kept");
  EXPECT_EQ(AvailabilitySummaryRows(a)[3].second, "2.500 s in 9 window(s)");
}

TEST(ReportAvailability, EveryRequestHealthySaysSo) {
  v1::Availability a;
  a.set_requests(10);
  EXPECT_EQ(AvailabilitySummaryRows(a)[4].second, "none: every request succeeded");
}

}  // namespace
}  // namespace failover::coordinator
