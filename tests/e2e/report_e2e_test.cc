// Issue 8: the postmortem formats on a real run. Recovery metrics from the agents' real
// timestamps, the .md / .junit.xml / .html files beside the .log, and failoverctl report -o.
#include <filesystem>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "failover/v1/report.pb.h"

namespace failover::e2e {
namespace {

// failoverctl run prints "report:  <path>.log"; returns <path> without the extension.
std::string ReportBase(const std::string& ctl_stdout) {
  auto pos = ctl_stdout.find("report:  ");
  if (pos == std::string::npos) return "";
  std::string path = ctl_stdout.substr(pos + 9, ctl_stdout.find('\n', pos) - pos - 9);
  return path.size() > 4 ? path.substr(0, path.size() - 4) : path;
}

v1::Report LoadJson(const std::string& base) {
  v1::Report r;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFileOrEmpty(base + ".json"), &r).ok()) << base;
  return r;
}

const v1::UnitRecovery* FindUnit(const v1::Report& r, const std::string& host, const std::string& unit) {
  for (const auto& u : r.metrics().units())
    if (u.host() == host && u.unit() == unit) return &u;
  return nullptr;
}

class ReportE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(ReportE2E, ExecutedRunWritesEveryFormatWithRecoveryMetricsFromTheAgents) {
  Coordinator coord("report-formats");
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-bot"});
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  const std::string base = ReportBase(r.out);
  ASSERT_FALSE(base.empty()) << r.out;
  for (const char* ext : {".log", ".json", ".md", ".junit.xml", ".html"})
    EXPECT_TRUE(std::filesystem::exists(base + ext)) << base << ext;
  const v1::Report report = LoadJson(base);
  ASSERT_TRUE(report.has_metrics()) << "the JSON twin carries the metrics";
  ASSERT_EQ(report.metrics().units_size(), 2) << "sls-bot on api and cerebro";
  for (const auto& host : {"api", "cerebro"}) {
    const v1::UnitRecovery* u = FindUnit(report, host, "sls-bot.service");
    ASSERT_NE(u, nullptr) << host;
    EXPECT_GT(u->time_to_stopped_us(), 0) << host;
    EXPECT_GT(u->time_to_active_us(), u->time_to_stopped_us()) << host;
    EXPECT_GE(u->time_to_healthy_us(), u->time_to_active_us()) << host;
    EXPECT_GT(u->downtime_us(), 0) << host;
    EXPECT_LT(u->downtime_us(), 60'000'000) << host;
    EXPECT_FALSE(u->downtime_open_ended()) << host << ": " << u->note();
    EXPECT_EQ(u->restarts_observed(), 0) << host;
  }
  EXPECT_EQ(report.metrics().units_down(), 2u);
  EXPECT_GT(report.metrics().systemd_us(), 0);
  EXPECT_GT(report.metrics().total_run_us(), report.metrics().systemd_us());
  CmdResult lint = RunCmd({"xmllint", "--noout", base + ".junit.xml"});
  EXPECT_EQ(lint.rc, 0) << lint.err;
  EXPECT_NE(ReadFileOrEmpty(base + ".junit.xml").find("failures=\"0\" errors=\"0\""), std::string::npos);
  EXPECT_NE(ReadFileOrEmpty(base + ".html").find("bar-healthy\" data-host=\"cerebro\""), std::string::npos);
  EXPECT_NE(ReadFileOrEmpty(base + ".md").find("## Recovery metrics"), std::string::npos);

  // failoverctl report -o: the stored report, rendered by the CLI, is the file written next to the log.
  CmdResult md = coord.Ctl({"report", "-o", "md"});
  EXPECT_EQ(md.rc, 0) << md.err;
  EXPECT_EQ(md.out, ReadFileOrEmpty(base + ".md"));
  CmdResult junit = coord.Ctl({"report", report.run_id(), "-o", "junit"});
  EXPECT_EQ(junit.out, ReadFileOrEmpty(base + ".junit.xml"));
  CmdResult html = coord.Ctl({"report", "-o", "html"});
  EXPECT_EQ(html.out, ReadFileOrEmpty(base + ".html"));
  EXPECT_EQ(coord.Ctl({"report", "--json"}).out, coord.Ctl({"report", "-o", "json"}).out);
  EXPECT_EQ(coord.Ctl({"report", "-o", "pdf"}).rc, 2) << "unknown format is a usage error";
}

TEST_F(ReportE2E, FailedStartShowsAnOpenEndedDowntimeInEveryFormat) {
  Coordinator coord("report-startfail");
  SetControl("api", "sls-bot.fail-start");
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-bot"});
  EXPECT_EQ(r.rc, 1) << r.err;
  const std::string base = ReportBase(r.out);
  const v1::Report report = LoadJson(base);
  const v1::UnitRecovery* u = FindUnit(report, "api", "sls-bot.service");
  ASSERT_NE(u, nullptr);
  EXPECT_TRUE(u->downtime_open_ended());
  EXPECT_NE(u->note().find("start failed"), std::string::npos) << u->note();
  EXPECT_EQ(u->time_to_active_us(), -1);
  EXPECT_NE(ReadFileOrEmpty(base + ".md").find("(open-ended)"), std::string::npos);
  EXPECT_NE(ReadFileOrEmpty(base + ".log").find("(open-ended)"), std::string::npos);
  const std::string junit = ReadFileOrEmpty(base + ".junit.xml");
  EXPECT_EQ(junit.find("failures=\"0\""), std::string::npos) << "a failed run fails the suite";
  CmdResult lint = RunCmd({"xmllint", "--noout", base + ".junit.xml"});
  EXPECT_EQ(lint.rc, 0) << lint.err;
  EXPECT_EQ(coord.Ctl({"report", "-o", "junit"}).rc, 1) << "failoverctl report exits 1 for a failed run";
}

}  // namespace
}  // namespace failover::e2e
