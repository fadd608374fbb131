// Issue 9, incident simulation and chaos, on the real-systemd test bed: the agent kills a unit
// through systemd's KillUnit, systemd's Restart= (RestartSec=200ms in the test bed) brings it
// back, and the report has the fault, its detection, its recovery and the MTTR. Each test prints
// "MTTR <scenario>: ..." for the README and the issue note.
#include <algorithm>
#include <fstream>
#include <iostream>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "failover/v1/report.pb.h"

namespace failover::e2e {
namespace {

// `-o json` prints one RunEvent per line; the last one carries the report.
v1::Report ReportOf(const CmdResult& r) {
  v1::Report report;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(ReportJsonOfRun(r.out), &report, o).ok()) << r.out << r.err;
  return report;
}

void PrintMttr(const std::string& scenario, const v1::Report& r) {
  for (const auto& f : r.faults())
    std::cout << "MTTR " << scenario << " round " << f.round() << " " << f.unit() << "@" << f.host()
              << ": detect " << f.time_to_detect_us() / 1000.0 << " ms, MTTR " << f.mttr_us() / 1000.0 << " ms ("
              << v1::RecoveredBy_Name(f.recovered_by()) << ")" << std::endl;
}

// The test bed's SLS units have no Restart= (their other tests need a stop to stay a stop); these
// tests give them the production setting for the test only, as a runtime drop-in
// (Restart=always, RestartSec=200ms), removed again after.
void SetRestart(const std::string& host, const std::string& unit, bool on) {
  const std::string dir = "/run/systemd/system/" + unit + ".d";
  const std::string cmd = on ? "mkdir -p " + dir + " && printf '[Service]\\nRestart=always\\nRestartSec=200ms\\n' > " +
                                   dir + "/chaos-restart.conf && systemctl daemon-reload"
                             : "rm -rf " + dir + " && systemctl daemon-reload";
  CmdResult r = HostExec(host, {"bash", "-c", cmd});
  EXPECT_EQ(r.rc, 0) << r.out << r.err;
}

class ChaosE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override {
    for (const auto& [host, unit] : kSls) SetRestart(host, unit, false);
    ResetTestBed();
  }
  void RestartAlways() {
    for (const auto& [host, unit] : kSls) SetRestart(host, unit, true);
    EXPECT_EQ(Prop("api", "sls-bot.service", "Restart"), "always");
  }
};

TEST_F(ChaosE2E, AnInjectedKillIsDetectedAndRecoveredBySystemdWithItsMttrInTheReport) {
  RestartAlways();
  Coordinator c("chaos-inject");
  const uint32_t pid = MainPid("api", "sls-bot.service");
  const std::string restarts = Prop("api", "sls-bot.service", "NRestarts");
  CmdResult r = c.Ctl({"inject", "--fail", "sls-bot.service@api", "--execute", "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  v1::Report report = ReportOf(r);
  ASSERT_EQ(report.faults_size(), 1);
  const auto& f = report.faults(0);
  EXPECT_EQ(report.kind(), v1::RUN_KIND_INJECT);
  EXPECT_EQ(f.recovered_by(), v1::RECOVERED_BY_SYSTEMD_RESTART) << f.note();
  EXPECT_GT(f.injected_at_unix_us(), 0);
  EXPECT_GE(f.detected_at_unix_us(), f.injected_at_unix_us());
  EXPECT_GT(f.recovered_at_unix_us(), f.detected_at_unix_us());
  EXPECT_EQ(f.mttr_us(), f.recovered_at_unix_us() - f.injected_at_unix_us());
  EXPECT_GT(f.mttr_us(), 200'000) << "RestartSec=200ms comes first";
  EXPECT_NE(MainPid("api", "sls-bot.service"), pid) << "systemd started a new process";
  EXPECT_EQ(std::stoi(Prop("api", "sls-bot.service", "NRestarts")), std::stoi(restarts) + 1);
  EXPECT_TRUE(AllActive());
  PrintMttr("inject", report);
  // The report files have it too, in every format.
  CmdResult md = c.Ctl({"report", report.run_id(), "-o", "md"});
  EXPECT_NE(md.out.find("## Injected faults"), std::string::npos) << md.out;
  CmdResult junit = c.Ctl({"report", report.run_id(), "-o", "junit"});
  EXPECT_NE(junit.out.find("round 1: SIGKILL sls-bot.service@api"), std::string::npos) << junit.out;
  CmdResult html = c.Ctl({"report", report.run_id(), "-o", "html"});
  EXPECT_NE(html.out.find("class=\"fault-mark\""), std::string::npos);
  CmdResult runs = c.Ctl({"runs"});
  EXPECT_NE(runs.out.find("inject"), std::string::npos) << runs.out;
}

TEST_F(ChaosE2E, InjectWithoutExecuteChangesNothing) {
  Coordinator c("chaos-dry");
  const std::string entered = Prop("api", "sls-bot.service", "ActiveEnterTimestamp");
  const uint32_t pid = MainPid("api", "sls-bot.service");
  CmdResult r = c.Ctl({"inject", "--fail", "sls-bot.service@api", "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  v1::Report report = ReportOf(r);
  ASSERT_EQ(report.faults_size(), 1);
  EXPECT_TRUE(report.dry_run());
  EXPECT_NE(report.faults(0).note().find("would send SIGKILL to sls-bot.service"), std::string::npos)
      << report.faults(0).note();
  EXPECT_EQ(report.faults(0).injected_at_unix_us(), 0);
  EXPECT_EQ(Prop("api", "sls-bot.service", "ActiveEnterTimestamp"), entered);
  EXPECT_EQ(MainPid("api", "sls-bot.service"), pid);
}

TEST_F(ChaosE2E, InjectOfAUnitOffTheAgentsAllowlistIsRefusedAuditedAndNothingChanged) {
  // The coordinator's config may name any unit; the agent's allow_units (sls-*) has the last word.
  std::string text = RequestConfigText();
  text.replace(text.find("units: [sls-api.service, sls-bot.service]"),
               std::string("units: [sls-api.service, sls-bot.service]").size(),
               "units: [sls-api.service, sls-bot.service, dbus.service]");
  text.replace(text.find("order:"), 6,
               "  - name: dbus\n    probes:\n      - {name: dbus-unit, unit: {unit: dbus.service}, timeout_ms: 500, "
               "deadline_ms: 500}\norder:");
  const std::string path = StateDir() + "/chaos-allowlist.yaml";
  std::ofstream(path) << text;
  Coordinator c("chaos-allow");
  const uint32_t pid = MainPid("api", "dbus.service");
  CmdResult r = c.Ctl({"inject", "-c", path, "--fail", "dbus.service@api", "--execute", "-o", "json"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  v1::Report report = ReportOf(r);
  ASSERT_EQ(report.faults_size(), 1) << r.out << r.err;
  EXPECT_NE(report.faults(0).note().find("refused by the agent on api"), std::string::npos) << report.faults(0).note();
  EXPECT_NE(report.faults(0).note().find("dbus.service"), std::string::npos);
  EXPECT_EQ(MainPid("api", "dbus.service"), pid) << "dbus was touched";
  const std::string audit = ReadFileOrEmpty(StateDir() + "/hosts/api/audit.log");
  EXPECT_NE(audit.find("\"rpc\":\"InjectFault\""), std::string::npos) << audit.substr(audit.size() > 2000 ? audit.size() - 2000 : 0);
  EXPECT_NE(audit.find("unit=dbus.service"), std::string::npos);
}

TEST_F(ChaosE2E, ThenFailoverRunsTheFailoverOfTheServiceAfterTheRecovery) {
  RestartAlways();
  Coordinator c("chaos-then");
  const std::string cerebro_entered = Prop("cerebro", "sls-bot.service", "ActiveEnterTimestamp");
  CmdResult r = c.Ctl({"inject", "--fail", "sls-bot.service@api", "--then-failover", "--execute", "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  v1::Report report = ReportOf(r);
  ASSERT_EQ(report.faults_size(), 1);
  EXPECT_EQ(report.faults(0).recovered_by(), v1::RECOVERED_BY_SYSTEMD_RESTART);
  EXPECT_EQ(report.faults(0).failover_summary().rfind("SUCCEEDED", 0), 0u) << report.faults(0).failover_summary();
  EXPECT_NE(Prop("cerebro", "sls-bot.service", "ActiveEnterTimestamp"), cerebro_entered)
      << "the failover restarts sls-bot on cerebro too";
  EXPECT_TRUE(AllActive());
  PrintMttr("inject-then-failover", report);
}

TEST_F(ChaosE2E, AKilledUnitThatSystemdDoesNotRestartIsFailedOverAfterTheRecoverDeadline) {
  Coordinator c("chaos-norestart");  // the test bed's units as they are: no Restart=
  CmdResult r = c.Ctl({"inject", "--fail", "sls-bot.service@api", "--recover-deadline-ms", "2000", "--execute",
                       "-o", "json"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  v1::Report report = ReportOf(r);
  ASSERT_EQ(report.faults_size(), 1);
  const auto& f = report.faults(0);
  EXPECT_EQ(f.recovered_by(), v1::RECOVERED_BY_FAILOVER) << f.note();
  EXPECT_NE(f.note().find("not back healthy within 2000 ms"), std::string::npos) << f.note();
  EXPECT_EQ(f.failover_summary().rfind("SUCCEEDED", 0), 0u) << f.failover_summary();
  EXPECT_GT(f.mttr_us(), 2'000'000);
  EXPECT_TRUE(AllActive());
  PrintMttr("inject-no-restart", report);
}

// At most `max_down` faults between their injection and their recovery at any instant.
uint32_t MostDownAtOnce(const v1::Report& r) {
  std::vector<std::pair<int64_t, int>> edges;
  for (const auto& f : r.faults()) {
    if (f.injected_at_unix_us() == 0) continue;
    edges.push_back({f.injected_at_unix_us(), +1});
    edges.push_back({f.recovered_at_unix_us() > 0 ? f.recovered_at_unix_us() : r.finished_at_unix_us(), -1});
  }
  std::sort(edges.begin(), edges.end(), [](auto a, auto b) { return a.first != b.first ? a.first < b.first : a.second < b.second; });
  int now = 0, most = 0;
  for (const auto& [t, d] : edges) most = std::max(most, now += d);
  return static_cast<uint32_t>(most);
}

TEST_F(ChaosE2E, AChaosRunOfSeveralRoundsLeavesEveryUnitActiveAndHealthyWithTheSamePicksForTheSameSeed) {
  RestartAlways();
  Coordinator c("chaos-rounds");
  std::vector<std::vector<std::string>> picks;
  for (int run = 0; run < 2; ++run) {
    CmdResult r = c.Ctl({"chaos", "--rounds", "3", "--seed", "7", "--max-down", "1", "--execute", "-o", "json"});
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    v1::Report report = ReportOf(r);
    EXPECT_EQ(report.kind(), v1::RUN_KIND_CHAOS);
    EXPECT_EQ(report.chaos_seed(), 7u);
    ASSERT_EQ(report.faults_size(), 3);
    std::vector<std::string> these;
    for (const auto& f : report.faults()) {
      these.push_back(f.unit() + "@" + f.host());
      EXPECT_EQ(f.recovered_by(), v1::RECOVERED_BY_SYSTEMD_RESTART) << f.note();
      EXPECT_GT(f.mttr_us(), 0);
    }
    EXPECT_LE(MostDownAtOnce(report), 1u) << "--max-down 1";
    picks.push_back(these);
    PrintMttr("chaos", report);
    EXPECT_TRUE(AllActive());
    CmdResult health = c.Ctl({"health"});
    EXPECT_EQ(health.rc, 0) << health.out << health.err;
  }
  EXPECT_EQ(picks[0], picks[1]) << "the same seed gives the same picks";
}

}  // namespace
}  // namespace failover::e2e
