// Issue 12 (coordinator side, part B) on the real-systemd test bed: a run reserves every host
// before its first change (a later run cannot abort it), a gate means "up and stays up", and the
// report shows the restores an agent did on its own, also across an agent restart.
#include <chrono>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

using Clock = std::chrono::steady_clock;

bool WaitFor(const std::function<bool()>& pred, int timeout_ms) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::milliseconds(timeout_ms)) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Starts failoverctl `args` in the background and returns once `unit` on `host` is (slowly,
// 1.5 s) activating: the run is under way and has changed something.
pid_t StartDuringSlowStart(const Coordinator& coord, const std::string& host, const std::string& unit,
                           const std::vector<std::string>& args, const std::string& out, bool* started) {
  SetControl(host, unit + ".start-delay-ms", "1500");
  const pid_t ctl = coord.CtlAsync(args, out);
  *started = WaitFor([&] { return ActiveState(host, unit + ".service") == "activating"; }, 15000);
  return ctl;
}

// Restart=on-failure for one unit, as a runtime drop-in removed again on destruction.
class RestartOnFailure {
 public:
  RestartOnFailure(std::string host, std::string unit) : host_(std::move(host)), unit_(std::move(unit)) {
    Sh("mkdir -p " + Dir() + " && printf '[Service]\\nRestart=on-failure\\nRestartSec=100ms\\n' > " + Dir() +
       "/crash.conf && systemctl daemon-reload");
  }
  ~RestartOnFailure() { Sh("rm -rf " + Dir() + " && systemctl daemon-reload"); }

 private:
  std::string Dir() const { return "/run/systemd/system/" + unit_ + ".d"; }
  void Sh(const std::string& cmd) { HostExec(host_, {"bash", "-c", cmd}); }
  std::string host_, unit_;
};

class ReserveE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override {
    RestartAgentsAndResetTestBed();  // a host a run left held is free again
  }
};

TEST_F(ReserveE2E, ALaterRunFromAnotherCoordinatorIsRefusedNamingTheEarlierRunWhichCompletes) {
  const std::string cfg = ShortConfig("r-two");
  Coordinator a("reserve-a"), b("reserve-b");
  // Run A restarts sls-api on api (slowly), then on panel; B, started meanwhile, touches only panel.
  bool started = false;
  const std::string out_a = a.state_dir() + "/run.out";
  const pid_t ctl_a = StartDuringSlowStart(a, "api", "sls-api", {"run", "--execute", "-c", cfg, "--services", "sls-api"},
                                           out_a, &started);
  ASSERT_TRUE(started) << ReadFileOrEmpty(out_a);
  const uint32_t panel_pid = MainPid("panel", "sls-panel.service");
  CmdResult rb = b.Ctl({"run", "--execute", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(WaitChild(ctl_a, 120), 0) << ReadFileOrEmpty(out_a);
  const std::string text_a = ReadFileOrEmpty(out_a);
  EXPECT_NE(text_a.find("SUCCEEDED"), std::string::npos) << text_a;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(text_a, m, std::regex("run ([A-Za-z0-9._:-]+): EXECUTE"))) << text_a;
  const std::string run_a = m[1];
  EXPECT_EQ(rb.rc, 1) << rb.out << rb.err;
  EXPECT_NE(rb.out.find("REFUSED"), std::string::npos) << rb.out;
  EXPECT_NE(rb.out.find("held by run " + run_a), std::string::npos) << "B names A's run " << run_a << ":\n" << rb.out;
  EXPECT_EQ(MainPid("panel", "sls-panel.service"), panel_pid) << "B changed nothing";
  EXPECT_EQ(ActiveState("panel", "sls-api.service"), "active");
}

TEST_F(ReserveE2E, AUnitThatCrashesJustAfterItsStartFailsTheRunNamingTheUnit) {
  const std::string cfg = ShortConfig("r-crash");
  RestartOnFailure restart("panel", "sls-panel.service");
  Coordinator coord("reserve-crash");
  // Without the fault the same run stays green.
  CmdResult green = coord.Ctl({"run", "--execute", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(green.rc, 0) << green.out << green.err;
  EXPECT_NE(green.out.find("SUCCEEDED"), std::string::npos) << green.out;

  SetControl("panel", "sls-panel.crash-after-ready");
  CmdResult r = coord.Ctl({"run", "--execute", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_EQ(r.out.find("SUCCEEDED"), std::string::npos) << r.out;
  CmdResult rep = coord.Ctl({"report"});
  std::smatch m;
  ASSERT_TRUE(std::regex_search(rep.out, m, std::regex("summary: +([^\n]*)"))) << rep.out;
  const std::string summary = m[1];
  EXPECT_NE(summary.find("sls-panel.service"), std::string::npos) << summary;
  EXPECT_NE(summary.find("did not stay up"), std::string::npos) << summary;
  EXPECT_GE(std::stoul("0" + Prop("panel", "sls-panel.service", "NRestarts")), 1u) << "systemd restarted it";
}

TEST_F(ReserveE2E, AnAgentRestartedMidRunHasItsOwnRestoreInTheRunsReport) {
  const std::string cfg = ShortConfig("r-agentrestart");
  Coordinator coord("reserve-agentrestart");
  // stop-all: once sls-api is (slowly) starting on api, sls-cerebro and sls-bot on cerebro are
  // held stopped by the run, waiting for their start steps. Restarting cerebro's agent makes it
  // start them on its own before it exits.
  bool started = false;
  const std::string out = coord.state_dir() + "/run.out";
  const pid_t ctl = StartDuringSlowStart(
      coord, "api", "sls-api", {"run", "--execute", "-c", cfg, "--mode", "stop-all", "--max-parallel", "3"}, out,
      &started);
  ASSERT_TRUE(started) << ReadFileOrEmpty(out);
  ASSERT_NE(ActiveState("cerebro", "sls-cerebro.service"), "active");
  ASSERT_EQ(HostExec("cerebro", {"systemctl", "restart", "failover-agent.service"}).rc, 0);
  WaitChild(ctl, 120);
  CmdResult rep = coord.Ctl({"report"});
  EXPECT_NE(rep.out.find("[by the agent on its own]"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("agent stopping"), std::string::npos) << rep.out;
  EXPECT_EQ(rep.out.find("restores stopped units within the lease"), std::string::npos) << "no unconfirmed promise";
  EXPECT_TRUE(WaitFor([] { return ActiveState("cerebro", "sls-cerebro.service") == "active"; }, 20000));
}

TEST_F(ReserveE2E, ContinuePolicyGoesOnToTheNextServicesAfterAFailedStartAndFailsTheRun) {
  const std::string cfg = ShortConfig("r-continue");
  Coordinator coord("reserve-continue");
  SetControl("cerebro", "sls-cerebro.fail-start");
  const uint32_t api_before = MainPid("api", "sls-api.service");
  const uint32_t panel_before = MainPid("panel", "sls-api.service");
  CmdResult r = coord.Ctl({"run", "--execute", "-c", cfg, "--failure-policy", "continue"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAILED"), std::string::npos) << r.out;
  // sls-api comes after sls-cerebro in the order: it ran on both its hosts anyway.
  EXPECT_NE(MainPid("api", "sls-api.service"), api_before) << r.out;
  EXPECT_NE(MainPid("panel", "sls-api.service"), panel_before) << r.out;
  EXPECT_EQ(ActiveState("api", "sls-api.service"), "active");
  EXPECT_EQ(ActiveState("panel", "sls-api.service"), "active");
}

TEST_F(ReserveE2E, RestorePolicyStopsAgainAUnitThatWasStoppedBeforeTheRunAfterAFailure) {
  const std::string cfg = ShortConfig("r-restore");
  Coordinator coord("reserve-restore");
  ASSERT_EQ(HostExec("cerebro", {"systemctl", "stop", "sls-bot.service"}).rc, 0);
  SetControl("cerebro", "sls-cerebro.fail-start");
  CmdResult r = coord.Ctl({"run", "--execute", "-c", cfg, "--failure-policy", "restore"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_EQ(r.out.find("SUCCEEDED"), std::string::npos) << r.out;
  // The run started sls-bot on cerebro (a restart of a stopped unit), then sls-cerebro failed:
  // restore puts sls-bot back to stopped; units that ran before run.
  EXPECT_EQ(ActiveState("cerebro", "sls-bot.service"), "inactive") << r.out;
  EXPECT_EQ(ActiveState("api", "sls-bot.service"), "active");
  EXPECT_EQ(ActiveState("api", "sls-api.service"), "active");
  EXPECT_EQ(ActiveState("panel", "sls-api.service"), "active");
}

}  // namespace
}  // namespace failover::e2e
