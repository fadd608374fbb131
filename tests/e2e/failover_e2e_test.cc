// Issue 2: a real failover end to end on real systemd test hosts.
#include <cstdlib>
#include <fstream>

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"
#include "failover/v1/report.pb.h"

namespace failover::e2e {
namespace {

struct HostUnit {
  std::string host, unit;
};
const std::vector<HostUnit> kAll = {{"api", "sls-api.service"},         {"api", "sls-bot.service"},
                                    {"cerebro", "sls-cerebro.service"}, {"cerebro", "sls-bot.service"},
                                    {"panel", "sls-panel.service"},     {"panel", "sls-api.service"}};

std::map<std::string, uint32_t> Pids() {
  std::map<std::string, uint32_t> pids;
  for (const auto& hu : kAll) pids[hu.host + "/" + hu.unit] = MainPid(hu.host, hu.unit);
  return pids;
}

v1::Report LoadReport(const std::string& ctl_stdout) {
  // failoverctl prints "report:  <path>.log"; the JSON twin sits beside it.
  auto pos = ctl_stdout.find("report:  ");
  EXPECT_NE(pos, std::string::npos) << ctl_stdout;
  std::string path = ctl_stdout.substr(pos + 9, ctl_stdout.find('\n', pos) - pos - 9);
  if (path.size() > 4 && path.substr(path.size() - 4) == ".log") path = path.substr(0, path.size() - 4) + ".json";
  v1::Report r;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(ReadFileOrEmpty(path), &r).ok()) << path;
  return r;
}

class FailoverE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(FailoverE2E, DryRunReadsRealStateAndChangesNothing) {
  Coordinator coord("dry");
  auto before = Pids();
  for (const auto& [k, pid] : before) ASSERT_GT(pid, 0u) << k;
  CmdResult r = coord.Ctl({"run"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(Pids(), before);
  v1::Report report = LoadReport(r.out);
  EXPECT_TRUE(report.dry_run());
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED);
  ASSERT_GT(report.initial_state_size(), 0);
  for (const auto& st : report.initial_state())
    EXPECT_EQ(st.main_pid(), before[st.host() + "/" + st.unit()]) << "report shows the real MainPID";
  int would = 0;
  for (const auto& op : report.operations()) would += op.result() == "would-run";
  EXPECT_EQ(would, 10) << "stop+start for each of the 5 (host, unit) pairs";
  EXPECT_NE(r.err.find("would stop sls-bot.service"), std::string::npos) << "live progress on stderr";
}

// The agents' state reads go to systemd over its private socket (no dbus-daemon between), not
// the system bus: what each agent's /metrics counts by way, around a dry run that reads every
// host, and the states read are systemd's (MainPID as systemctl shows it).
TEST_F(FailoverE2E, AgentsReadUnitStateOverSystemdsPrivateSocket) {
  const std::map<std::string, std::string> ip = {{"api", "10.77.0.11"}, {"cerebro", "10.77.0.12"}, {"panel", "10.77.0.13"}};
  auto reads = [&](const std::string& host, const std::string& via) {
    CmdResult m = RunCmd({"curl", "-sS", "--max-time", "5", "http://" + ip.at(host) + ":9465/metrics"});
    const std::string key = "failover_agent_state_reads_total{via=\"" + via + "\"} ";
    const size_t at = m.out.find(key);
    EXPECT_NE(at, std::string::npos) << host << ": " << m.err << m.out.substr(0, 300);
    return at == std::string::npos ? -1.0 : std::atof(m.out.c_str() + at + key.size());
  };
  std::map<std::string, std::pair<double, double>> before;
  for (const auto& [host, addr] : ip) before[host] = {reads(host, "private"), reads(host, "bus")};
  Coordinator coord("private-socket");
  CmdResult r = coord.Ctl({"run"});
  ASSERT_EQ(r.rc, 0) << r.err;
  for (const auto& [host, counts] : before) {
    EXPECT_GT(reads(host, "private"), counts.first) << host << ": no read over systemd's private socket";
    EXPECT_EQ(reads(host, "bus"), counts.second) << host << ": a read went over the system bus";
  }
  const auto pids = Pids();
  v1::Report report = LoadReport(r.out);
  ASSERT_GT(report.initial_state_size(), 0);
  for (const auto& st : report.initial_state()) {
    EXPECT_EQ(st.active_state(), "active") << st.host() << " " << st.unit();
    EXPECT_EQ(st.main_pid(), pids.at(st.host() + "/" + st.unit())) << st.host() << " " << st.unit();
  }
}

TEST_F(FailoverE2E, ExecutedRollingFailoverRestartsEveryUnitInTheSeedOrder) {
  Coordinator coord("rolling");
  auto before = Pids();
  CmdResult r = coord.Ctl({"run", "--execute"});
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  auto after = Pids();
  for (const auto& hu : kAll) {
    const std::string k = hu.host + "/" + hu.unit;
    if (hu.unit == "sls-panel.service")
      EXPECT_EQ(after[k], before[k]) << "sls-panel is not in the default order";
    else
      EXPECT_NE(after[k], before[k]) << k << " was not restarted";
    EXPECT_EQ(ActiveState(hu.host, hu.unit), "active") << k;
  }
  v1::Report report = LoadReport(r.out);
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED);
  // Order from the reported timestamps: each start finishes before the next stop begins.
  std::vector<std::string> starts;
  int64_t last = 0;
  for (const auto& op : report.operations()) {
    EXPECT_EQ(op.result(), "done") << op.unit();
    EXPECT_GE(op.started_at_unix_us(), last) << "operations overlap: " << op.host() << " " << op.unit();
    last = op.started_at_unix_us() + op.duration_us();
    if (op.operation() == v1::OPERATION_START) starts.push_back(op.host() + "/" + op.unit());
  }
  EXPECT_EQ(starts, (std::vector<std::string>{"api/sls-bot.service", "cerebro/sls-bot.service",
                                              "cerebro/sls-cerebro.service", "api/sls-api.service",
                                              "panel/sls-api.service"}));
  // Final state in the report matches systemd.
  for (const auto& st : report.final_state())
    EXPECT_EQ(st.main_pid(), after[st.host() + "/" + st.unit()]) << st.host() << " " << st.unit();
  int healthy_gates = 0;
  for (const auto& h : report.health()) healthy_gates += h.healthy();
  EXPECT_EQ(healthy_gates, report.health_size()) << "every gate and the final health check passed";
  // The text log has the seed's sections.
  const std::string log = ReadFileOrEmpty(report.files(0));
  for (const char* section : {"== Initial state ==", "== Operations executed ==", "== Health results ==", "== Final state =="})
    EXPECT_NE(log.find(section), std::string::npos) << section;
}

TEST_F(FailoverE2E, FailingHealthProbeStopsTheRunBeforeTheNextService) {
  Coordinator coord("probefail");
  SetControl("cerebro", "sls-cerebro.health-status", "503");
  auto before = Pids();
  CmdResult r = coord.Ctl({"run", "--execute"});
  EXPECT_EQ(r.rc, 1) << r.err;
  auto after = Pids();
  EXPECT_EQ(after["api/sls-api.service"], before["api/sls-api.service"]) << "sls-api must not be touched";
  EXPECT_EQ(after["panel/sls-api.service"], before["panel/sls-api.service"]);
  for (const auto& hu : kAll) EXPECT_EQ(ActiveState(hu.host, hu.unit), "active") << hu.host << " " << hu.unit;
  v1::Report report = LoadReport(r.out);
  EXPECT_EQ(report.outcome(), v1::RUN_ABORTED);
  EXPECT_NE(report.summary().find("cerebro-health"), std::string::npos) << report.summary();
  EXPECT_NE(report.summary().find("HTTP 503"), std::string::npos) << report.summary();
  ASSERT_EQ(report.steps_size(), 5);
  EXPECT_EQ(report.steps(2).status(), v1::STEP_FAILED);
  EXPECT_EQ(report.steps(3).status(), v1::STEP_NOT_RUN);
  EXPECT_EQ(report.steps(4).status(), v1::STEP_NOT_RUN);
}

TEST_F(FailoverE2E, UnitWhoseStartFailsAbortsWithATruthfulReport) {
  Coordinator coord("startfail");
  SetControl("api", "sls-bot.fail-start");
  CmdResult r = coord.Ctl({"run", "--execute"});
  EXPECT_EQ(r.rc, 1) << r.err;
  v1::Report report = LoadReport(r.out);
  EXPECT_EQ(report.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(report.steps(0).status(), v1::STEP_FAILED);
  EXPECT_EQ(report.steps(1).status(), v1::STEP_NOT_RUN);
  bool found = false;
  for (const auto& op : report.operations())
    if (op.host() == "api" && op.unit() == "sls-bot.service" && op.operation() == v1::OPERATION_START &&
        !op.autonomous() && op.step_id() == report.steps(0).id()) {
      found = true;
      EXPECT_EQ(op.result(), "failed");
      EXPECT_NE(op.detail().find("exit status 3"), std::string::npos) << op.detail();
    }
  EXPECT_TRUE(found) << "the failed start is in the report";
  EXPECT_EQ(Prop("api", "sls-bot.service", "ActiveState"), "failed") << "truthful: systemd agrees it failed";
  bool final_failed = false;
  for (const auto& st : report.final_state())
    if (st.host() == "api" && st.unit() == "sls-bot.service") final_failed = st.active_state() == "failed";
  EXPECT_TRUE(final_failed);
}

TEST_F(FailoverE2E, ConfigErrorNamesFileLineAndFieldAndExitsTwo) {
  Coordinator coord("badconfig");
  const std::string bad = StateDir() + "/bad.yaml";
  std::string text = RequestConfigText();
  text.replace(text.find("max_parallel: 1"), 15, "max_parallel: -3");
  std::ofstream(bad) << text;
  auto before = Pids();
  CmdResult r = coord.Ctl({"run", "--execute", "-c", bad});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find(bad + ":5: defaults.max_parallel"), std::string::npos) << r.err;
  CmdResult u = coord.Ctl({"run", "--execute", "--services", "sls-bot,sls-nope"});
  EXPECT_EQ(u.rc, 2);
  EXPECT_NE(u.err.find("unknown service \"sls-nope\""), std::string::npos) << u.err;
  CmdResult m = coord.Ctl({"run", "--mode", "sideways"});
  EXPECT_EQ(m.rc, 2);
  // A config sent with the request may not reach for the coordinator's files, env or credentials.
  const std::string greedy = StateDir() + "/greedy.yaml";
  std::ofstream(greedy) << RequestConfigText()
                        << "health_check: {api_base: \"http://10.77.0.1:9\", token: {file: " << StateDir()
                        << "/certs/coordinator.key}}\n";
  CmdResult g = coord.Ctl({"health", "-c", greedy});
  EXPECT_EQ(g.rc, 2);
  EXPECT_NE(g.err.find(greedy + ":"), std::string::npos) << g.err;
  EXPECT_NE(g.err.find("health_check: not allowed in a config sent with a request"), std::string::npos) << g.err;
  EXPECT_EQ(Pids(), before);
}

TEST_F(FailoverE2E, UnreachableAgentMakesPlanSayWhichAndExecuteRefuse) {
  Coordinator coord("unreachable");
  ASSERT_EQ(HostExec("panel", {"systemctl", "stop", "failover-agent.service"}).rc, 0);
  auto before = Pids();
  CmdResult p = coord.Ctl({"plan"});
  EXPECT_EQ(p.rc, 1);
  EXPECT_NE(p.err.find("host panel unreachable"), std::string::npos) << p.err;
  CmdResult r = coord.Ctl({"run", "--execute"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("REFUSED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("panel"), std::string::npos) << r.out;
  EXPECT_EQ(Pids(), before) << "nothing changed on any host";
}

TEST_F(FailoverE2E, FullFailoverAddsThePanelAndHealthReportsEveryProbe) {
  Coordinator coord("full");
  auto before = Pids();
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-bot,sls-cerebro,sls-api,sls-panel", "--mode",
                           "stop-all", "--max-parallel", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  auto after = Pids();
  for (const auto& [k, pid] : before) EXPECT_NE(after[k], pid) << k;
  CmdResult h = coord.Ctl({"health"});
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  EXPECT_NE(h.out.find("monitor-guard"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("health_check"), std::string::npos) << h.out;
  CmdResult rep = coord.Ctl({"report"});
  EXPECT_EQ(rep.rc, 0);
  EXPECT_NE(rep.out.find("SUCCEEDED"), std::string::npos);
}

}  // namespace
}  // namespace failover::e2e
