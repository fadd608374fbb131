#include "coordinator/report_junit.h"

#include "absl/strings/str_cat.h"
#include "coordinator/report_sample.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

TEST(ReportJunit, ASkippedOperationIsASkippedTestcaseSayingWhy) {
  v1::Report r = testing::SampleReport();
  testing::AddSkippedStop(&r, "01-restart-sls-bot", "panel", "sls-bot.service", testing::kT0);
  const std::string xml = RenderJunit(r);
  EXPECT_NE(xml.find("name=\"stop sls-bot.service@panel\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"stop skipped: already inactive\"/>"), std::string::npos) << xml;
  auto count = [](const std::string& text) {
    int n = 0;
    for (size_t at = text.find("<skipped "); at != std::string::npos; at = text.find("<skipped ", at + 1)) ++n;
    return n;
  };
  const int skipped = count(xml);
  EXPECT_EQ(skipped, count(RenderJunit(testing::SampleReport())) + 1);
  EXPECT_NE(xml.find(absl::StrCat("skipped=\"", skipped, "\"")), std::string::npos) << xml;
  EXPECT_EQ(xml.find("failures=\"1\""), RenderJunit(testing::SampleReport()).find("failures=\"1\""))
      << "a skipped operation fails nothing";
}

// Well-formedness by libxml2's xmllint (Debian libxml2-utils, in deploy/install-deps.sh).
void ExpectWellFormedXml(const std::string& xml, const std::string& name) {
  const auto [which, path] = testing::RunCommand("command -v xmllint");
  ASSERT_EQ(which, 0) << "xmllint not found: install Debian's libxml2-utils (deploy/install-deps.sh)";
  const std::string file = ::testing::TempDir() + "/" + name;
  testing::WriteFile(file, xml);
  const auto [rc, out] = testing::RunCommand("xmllint --noout '" + file + "' 2>&1");
  EXPECT_EQ(rc, 0) << file << " is not well-formed XML: " << out;
}

TEST(ReportJunit, MatchesTheGoldenFileForTheSampleRun) {
  testing::ExpectMatchesGolden("sample-report.junit.xml", RenderJunit(testing::SampleReport()));
}

TEST(ReportJunit, IsWellFormedXmlWithMarkupAndControlCharactersInTheText) {
  v1::Report r = testing::SampleReport();
  r.mutable_steps(1)->set_reason("bad <tag> & \"q\" 'a' \x01\x1f end ]]>");
  const std::string xml = RenderJunit(r);
  ExpectWellFormedXml(xml, "escaping.junit.xml");
  EXPECT_NE(xml.find("bad &lt;tag&gt; &amp; &quot;q&quot; &apos;a&apos; \xEF\xBF\xBD\xEF\xBF\xBD end ]]&gt;"),
            std::string::npos);
}

TEST(ReportJunit, FailedRunFailsTheSuiteWithTheRightCounts) {
  const std::string xml = RenderJunit(testing::SampleReport());
  ExpectWellFormedXml(xml, "sample.junit.xml");
  // 3 steps + 2 probe results + the outcome: failed step, unhealthy final check, aborted run.
  EXPECT_NE(xml.find("<testsuite name=\"failover run 20270115T080000Z-ab12\" tests=\"6\" failures=\"3\" "
                     "errors=\"0\" skipped=\"1\""),
            std::string::npos)
      << xml;
}

TEST(ReportJunit, RefusedRunWithoutStepsIsAnError) {
  v1::Report r;
  r.set_run_id("r-refused");
  r.set_outcome(v1::RUN_REFUSED);
  r.set_summary("REFUSED: host api is locked");
  const std::string xml = RenderJunit(r);
  ExpectWellFormedXml(xml, "refused.junit.xml");
  EXPECT_NE(xml.find("tests=\"1\" failures=\"0\" errors=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<error message=\"REFUSED: host api is locked\""), std::string::npos) << xml;
}

TEST(ReportJunit, SucceededRunPassesTheSuite) {
  v1::Report r = testing::SampleReport();
  r.set_outcome(v1::RUN_SUCCEEDED);
  r.mutable_steps(1)->set_status(v1::STEP_SUCCEEDED);
  r.mutable_steps(2)->set_status(v1::STEP_SUCCEEDED);
  r.mutable_health(1)->set_healthy(true);
  const std::string xml = RenderJunit(r);
  EXPECT_NE(xml.find("tests=\"6\" failures=\"0\" errors=\"0\" skipped=\"0\""), std::string::npos) << xml;
}

TEST(ReportJunit, CarriesTheRecoveryMetricsAsSuiteProperties) {
  const std::string xml = RenderJunit(testing::SampleReport());
  EXPECT_NE(xml.find("<property name=\"max_downtime_us\" value=\"1900000\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<property name=\"downtime_us.cerebro.sls-api.service\" value=\"1900000 (open-ended)\"/>"),
            std::string::npos);
}

TEST(ReportJunit, MatchesTheGoldenFileForARunWithGates) {
  testing::ExpectMatchesGolden("sample-gates-report.junit.xml", RenderJunit(testing::SampleReportWithGates()));
}

TEST(ReportJunit, HasOneTestcasePerGateEvaluationAndStopCondition) {
  const std::string xml = RenderJunit(testing::SampleReportWithGates());
  ExpectWellFormedXml(xml, "gates.junit.xml");
  // 6 as before + 3 gates before + 3 after + 2 stop conditions. Failures: the 3 of the sample, 2
  // gates failing before a --require-healthy run, 1 failing after, the tripped stop condition.
  EXPECT_NE(xml.find("tests=\"14\" failures=\"7\" errors=\"0\" skipped=\"1\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"failover.gate.before\" name=\"api-port@api\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<testcase classname=\"failover.gate.after\" name=\"monitor-guard@panel\""), std::string::npos);
  EXPECT_NE(xml.find("<failure message=\"stop condition worker-ok on cerebro tripped at"), std::string::npos) << xml;
}

TEST(ReportJunit, AGateFailingBeforeARunThatDidNotRequireHealthIsTheStateBeforeNotAFailure) {
  v1::Report r = testing::SampleReportWithGates();
  r.set_require_healthy(false);
  r.set_forced(false);
  const std::string xml = RenderJunit(r);
  EXPECT_NE(xml.find("tests=\"14\" failures=\"5\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("failing before the run (the state before; the run went ahead)"), std::string::npos) << xml;
}

}  // namespace
}  // namespace failover::coordinator
