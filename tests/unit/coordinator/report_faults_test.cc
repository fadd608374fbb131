// The injected-faults block in every format: text, Markdown, JUnit (one testcase per fault), HTML.
#include "coordinator/report_faults.h"

#include "coordinator/report_html.h"
#include "coordinator/report_junit.h"
#include "coordinator/report_markdown.h"
#include "coordinator/report_writer.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

v1::Report ChaosReport() {
  v1::Report r;
  r.set_run_id("20261129T200000Z-abcd");
  r.set_kind(v1::RUN_KIND_CHAOS);
  r.set_mode("chaos");
  r.set_outcome(v1::RUN_SUCCEEDED);
  r.set_chaos_seed(42);
  r.set_chaos_rounds(2);
  r.set_chaos_max_down(1);
  const int64_t t = 1'800'000'000'000'000;
  auto* f = r.add_faults();
  f->set_round(1);
  f->set_host("api");
  f->set_unit("sls-bot.service");
  f->set_signal("KILL");
  f->set_injected_at_unix_us(t);
  f->set_detected_at_unix_us(t + 30'000);
  f->set_recovered_at_unix_us(t + 450'000);
  f->set_time_to_detect_us(30'000);
  f->set_mttr_us(450'000);
  f->set_recovered_by(v1::RECOVERED_BY_SYSTEMD_RESTART);
  f->set_down_at_once(1);
  auto* s = r.add_faults();
  s->set_round(2);
  s->set_host("cerebro");
  s->set_unit("sls-cerebro.service");
  s->set_signal("KILL");
  s->set_recovered_by(v1::RECOVERED_BY_NOT_INJECTED);
  s->set_note("skipped: service sls-cerebro is already unhealthy (HTTP 503)");
  return r;
}

TEST(ReportFaults, TheTextLogHasEachRoundWithItsMttrAndTheSeed) {
  const std::string text = RenderText(ChaosReport());
  EXPECT_NE(text.find("== Injected faults =="), std::string::npos) << text;
  EXPECT_NE(text.find("--seed 42"), std::string::npos) << text;
  EXPECT_NE(text.find("recovered 2027-01-15"), std::string::npos) << text;
  EXPECT_NE(text.find("MTTR 450.0 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("skipped: service sls-cerebro"), std::string::npos) << text;
}

TEST(ReportFaults, MarkdownHasAFaultTableRowPerRound) {
  const std::string md = RenderMarkdown(ChaosReport());
  EXPECT_NE(md.find("## Injected faults"), std::string::npos) << md;
  EXPECT_NE(md.find("| 1 | api | sls-bot.service | KILL |"), std::string::npos) << md;
  EXPECT_NE(md.find("| systemd restart | 30.0 ms | 450.0 ms |"), std::string::npos) << md;
}

TEST(ReportFaults, JunitHasOneTestcasePerFaultAndSkipsTheSkippedOne) {
  const std::string xml = RenderJunit(ChaosReport());
  EXPECT_NE(xml.find("name=\"round 1: SIGKILL sls-bot.service@api\" time=\"0.450\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("name=\"round 2: SIGKILL sls-cerebro.service@cerebro\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("<skipped message=\"skipped: service sls-cerebro"), std::string::npos) << xml;
}

TEST(ReportFaults, AFaultThatDidNotRecoverFailsItsTestcase) {
  v1::Report r = ChaosReport();
  r.mutable_faults(0)->set_recovered_by(v1::RECOVERED_BY_NOT_RECOVERED);
  r.mutable_faults(0)->set_note("still failed");
  EXPECT_NE(RenderJunit(r).find("<failure message=\"sls-bot.service on api did not recover"), std::string::npos);
}

TEST(ReportFaults, HtmlMarksTheFaultOnItsTimeline) {
  const std::string html = RenderHtml(ChaosReport());
  EXPECT_NE(html.find("<svg id=\"fault-timeline\""), std::string::npos) << html;
  EXPECT_NE(html.find("class=\"fault-mark\""), std::string::npos) << html;
  EXPECT_NE(html.find("bar fault-down"), std::string::npos) << html;
}

TEST(ReportFaults, MedianAndMaxMttrCountOnlyRecoveredFaults) {
  v1::Report r = ChaosReport();
  EXPECT_EQ(MedianMttrUs(r), 450'000);
  EXPECT_EQ(MaxMttrUs(r), 450'000);
  r.mutable_faults(1)->set_mttr_us(900'000);
  EXPECT_EQ(MaxMttrUs(r), 900'000);
  EXPECT_EQ(MedianMttrUs(r), 450'000);
}

TEST(ReportFaults, AFailoverReportHasNoFaultSection) {
  v1::Report r;
  r.set_run_id("x");
  EXPECT_EQ(RenderText(r).find("Injected faults"), std::string::npos);
  EXPECT_EQ(RenderMarkdown(r).find("Injected faults"), std::string::npos);
  EXPECT_EQ(RenderHtml(r).find("fault-timeline"), std::string::npos);
}

}  // namespace
}  // namespace failover::coordinator
