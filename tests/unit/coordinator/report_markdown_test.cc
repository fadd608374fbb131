#include "coordinator/report_markdown.h"

#include "coordinator/report_metrics.h"
#include "coordinator/report_sample.h"
#include "failover/logging.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

TEST(ReportMarkdown, ASkippedOperationIsARowSayingSkippedAndWhy) {
  v1::Report r = testing::SampleReport();
  testing::AddSkippedStop(&r, "01-restart-sls-bot", "panel", "sls-bot.service", testing::kT0);
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("| panel | sls-bot.service | stop | skipped | - | 01-restart-sls-bot | stop skipped: already inactive |"),
            std::string::npos)
      << md;
}

TEST(ReportMarkdown, MatchesTheGoldenFileForTheSampleRun) {
  testing::ExpectMatchesGolden("sample-report.md", RenderMarkdown(testing::SampleReport()));
}

TEST(ReportMarkdown, HasTheSectionsInOrderAsTables) {
  const std::string md = RenderMarkdown(testing::SampleReport());
  size_t last = 0;
  for (const char* h : {"# Failover report", "## Plan", "## Initial state", "## Operations executed",
                        "## Health results", "## Final state", "## Recovery metrics", "## Errors"}) {
    const size_t at = md.find(h);
    ASSERT_NE(at, std::string::npos) << h;
    EXPECT_GE(at, last) << h;
    last = at;
  }
  EXPECT_NE(md.find("| Host | Unit | To stopped |"), std::string::npos);
  EXPECT_NE(md.find("|---|---|"), std::string::npos);
}

TEST(ReportMarkdown, EscapesPipesAndLineBreaksInsideCells) {
  v1::Report r = testing::SampleReport();
  r.mutable_operations(3)->set_detail("a | b\nc");
  const std::string md = RenderMarkdown(r);
  EXPECT_NE(md.find("a \\| b c"), std::string::npos);
}

TEST(ReportMarkdown, SaysTheDowntimeIsOpenEndedWhenAStartFailed) {
  const std::string md = RenderMarkdown(testing::SampleReport());
  EXPECT_NE(md.find("≥ 1.900 s (open-ended)"), std::string::npos);
  EXPECT_NE(md.find("start failed (result failed)"), std::string::npos);
}

TEST(ReportMarkdown, RedactsSecrets) {
  RegisterSecret("md-secret-token");
  v1::Report r = testing::SampleReport();
  r.set_summary("failed with md-secret-token");
  EXPECT_EQ(RenderMarkdown(r).find("md-secret-token"), std::string::npos);
}

TEST(ReportMarkdown, MatchesTheGoldenFileForARunWithGates) {
  testing::ExpectMatchesGolden("sample-gates-report.md", RenderMarkdown(testing::SampleReportWithGates()));
}

TEST(ReportMarkdown, ShowsEachGateBeforeAndAfterTheForcedStartAndTheTrippedStopCondition) {
  const std::string md = RenderMarkdown(testing::SampleReportWithGates());
  EXPECT_NE(md.find("## Gates (before → after)"), std::string::npos);
  EXPECT_NE(md.find("| Phase | Gate | Where | Result | Latency | Attempts | Target | Message |"), std::string::npos);
  EXPECT_NE(md.find("| before | api-port | api | FAILED | 1.500 s | 1 | 127.0.0.1:8080 | connection refused |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("| after | api-port | api | PASSED |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Forced | yes: health-check, api-port |"), std::string::npos) << md;
  EXPECT_NE(md.find("| Stopped | stop condition worker-ok on cerebro tripped at"), std::string::npos) << md;
}

}  // namespace
}  // namespace failover::coordinator
