// Issue 12 (coordinator side): a coordinator whose stop, abort and evidence can be trusted, on the
// real-systemd test bed. systemctl inside the hosts is the witness; each recovery time is printed
// ("DRAIN-RECOVERY <scenario>: N ms") for the issue note.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

using Clock = std::chrono::steady_clock;

struct BackgroundRun {
  pid_t ctl;
  std::string out;
  bool started;  // the slow start of `unit` on `host` is under way
};

// Makes `unit` on `host` take 1.5 s to start, starts failoverctl `args` in the background and
// returns once that start is under way.
BackgroundRun StartDuringSlowStart(const Coordinator& coord, const std::string& host, const std::string& unit,
                                   const std::vector<std::string>& args) {
  SetControl(host, unit + ".start-delay-ms", "1500");
  const std::string out = coord.state_dir() + "/run.out";
  const pid_t ctl = coord.CtlAsync(args, out);
  const bool started = WaitForMs([&] { return ActiveState(host, unit + ".service") == "activating"; }, 15000) >= 0;
  return {ctl, out, started};
}

// The text report files the coordinator wrote, concatenated.
std::string ReportLogs(const std::string& coordinator_state_dir) {
  std::string all;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(coordinator_state_dir + "/reports", ec))
    if (e.path().extension() == ".log") all += ReadFileOrEmpty(e.path().string());
  return all;
}

std::string FinalStateSection(const std::string& log) {
  const size_t from = log.find("== Final state ==");
  if (from == std::string::npos) return "";
  const size_t to = log.find("==", from + 17);
  return log.substr(from, to == std::string::npos ? std::string::npos : to - from);
}

// The run id in `failoverctl ... -o json` output (a JSON document or JSON lines).
std::string RunIdIn(const std::string& json) {
  std::smatch m;
  return std::regex_search(json, m, std::regex("\"run_id\": ?\"([^\"]+)\"")) ? m[1].str() : "";
}

void Measured(const std::string& scenario, int64_t ms) {
  std::cout << "DRAIN-RECOVERY " << scenario << ": " << ms << " ms" << std::endl;
  ::testing::Test::RecordProperty("recovery_ms_" + scenario, std::to_string(ms));
}

class DrainE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override {
    RestartAgentsAndResetTestBed();  // a host a run left held is free again
  }
};

TEST_F(DrainE2E, SigtermBetweenTheStopsAndTheStartsStartsEveryUnitBeforeTheCoordinatorExits) {
  const std::string cfg = ShortConfig("d-sigterm");
  auto coord = std::make_unique<Coordinator>("sigterm");
  // stop-all: once sls-api is (slowly) activating on api every stop has happened; sls-bot and
  // sls-cerebro wait, stopped, for their start steps.
  const auto run = StartDuringSlowStart(*coord, "api", "sls-api",
                                        {"run", "--execute", "-c", cfg, "--mode", "stop-all", "--max-parallel", "3"});
  ASSERT_TRUE(run.started) << ReadFileOrEmpty(run.out);
  ASSERT_NE(ActiveState("api", "sls-bot.service"), "active");
  const pid_t pid = coord->pid();
  const std::string state_dir = coord->state_dir();
  const auto signalled = Clock::now();
  kill(pid, SIGTERM);
  const int64_t back = WaitForMs(AllActive, 30000);
  const int rc = WaitChild(pid, 60);
  const int64_t exited = MsSince(signalled);
  (void)coord.release();  // reaped above; its destructor would signal a pid no longer ours
  ASSERT_GE(back, 0) << "units left stopped after SIGTERM";
  EXPECT_EQ(rc, 0) << "the coordinator exits after draining";
  EXPECT_TRUE(AllActive());
  Measured("sigterm-between-stop-and-start", back);
  std::cout << "DRAIN-EXIT sigterm: coordinator exited " << exited << " ms after SIGTERM" << std::endl;

  EXPECT_EQ(WaitChild(run.ctl, 20), 1) << ReadFileOrEmpty(run.out);
  EXPECT_NE(ReadFileOrEmpty(run.out).find("stopped: the coordinator received SIGTERM"), std::string::npos)
      << ReadFileOrEmpty(run.out);
  const std::string logs = ReportLogs(state_dir);
  EXPECT_NE(logs.find("stopped: the coordinator received SIGTERM"), std::string::npos) << logs;
  EXPECT_NE(logs.find("stopped by: the coordinator itself (graceful stop)"), std::string::npos) << logs;
  // The final state was read by the coordinator after its restore and before it exited.
  const std::string final_state = FinalStateSection(logs);
  EXPECT_NE(final_state.find("sls-bot.service"), std::string::npos) << logs;
  for (const char* bad : {"inactive", "failed", "activating", "deactivating"})
    EXPECT_EQ(final_state.find(bad), std::string::npos) << "before the exit: " << final_state;

  // A new coordinator over the same state dir answers the same story.
  Coordinator again("sigterm", {}, /*keep_state=*/true);
  CmdResult rep = again.Ctl({"report"}, 30);
  EXPECT_EQ(rep.rc, 1) << rep.err;
  EXPECT_NE(rep.out.find("outcome:   ABORTED"), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("stopped: the coordinator received SIGTERM"), std::string::npos) << rep.out;
}

TEST_F(DrainE2E, FailoverctlAbortMidRunRestoresTheUnitsAndTheReportNamesWhoAborted) {
  const std::string cfg = ShortConfig("d-abort");
  Coordinator coord("abort");
  const auto run = StartDuringSlowStart(coord, "api", "sls-api",
                                        {"run", "--execute", "-c", cfg, "--mode", "stop-all", "--max-parallel", "3"});
  ASSERT_TRUE(run.started) << ReadFileOrEmpty(run.out);
  ASSERT_NE(ActiveState("api", "sls-bot.service"), "active");
  const auto asked = Clock::now();
  CmdResult abort = coord.Ctl({"abort"}, 30);
  EXPECT_EQ(abort.rc, 0) << abort.err;
  EXPECT_NE(abort.out.find("requested by unix socket"), std::string::npos) << abort.out;
  const int64_t back = WaitForMs(AllActive, 30000);
  ASSERT_GE(back, 0) << "units left stopped after the abort";
  Measured("abort-between-stop-and-start", MsSince(asked));
  EXPECT_EQ(WaitChild(run.ctl, 30), 1) << ReadFileOrEmpty(run.out);
  const std::string out = ReadFileOrEmpty(run.out);
  EXPECT_NE(out.find("outcome: ABORTED"), std::string::npos) << out;
  EXPECT_NE(out.find("aborted by unix socket at 20"), std::string::npos) << out;
  const std::string logs = ReportLogs(coord.state_dir());
  EXPECT_NE(logs.find("stopped by: unix socket at 20"), std::string::npos) << logs;
  for (const char* bad : {"inactive", "failed", "activating"})
    EXPECT_EQ(FinalStateSection(logs).find(bad), std::string::npos) << logs;
  CmdResult none = coord.Ctl({"abort", "no-such-run"}, 30);
  EXPECT_EQ(none.rc, 1);
  EXPECT_NE(none.err.find("run no-such-run is not in progress"), std::string::npos) << none.err;
}

TEST_F(DrainE2E, CtrlCInFailoverctlRunWithoutATerminalAbortsTheRunAndRestores) {
  const std::string cfg = ShortConfig("d-ctrlc");
  Coordinator coord("ctrlc");
  const auto run = StartDuringSlowStart(coord, "api", "sls-api",
                                        {"run", "--execute", "-c", cfg, "--mode", "stop-all", "--max-parallel", "3"});
  ASSERT_TRUE(run.started) << ReadFileOrEmpty(run.out);
  const auto asked = Clock::now();
  kill(run.ctl, SIGINT);  // stdin is /dev/null: no question, the abort goes out
  EXPECT_EQ(WaitChild(run.ctl, 30), 1) << ReadFileOrEmpty(run.out);
  ASSERT_GE(WaitForMs(AllActive, 30000), 0) << "units left stopped after Ctrl-C";
  Measured("ctrl-c-between-stop-and-start", MsSince(asked));
  const std::string out = ReadFileOrEmpty(run.out);
  EXPECT_NE(out.find("outcome: ABORTED"), std::string::npos) << out;
  EXPECT_NE(out.find("aborted by unix socket"), std::string::npos) << out;
}

TEST_F(DrainE2E, AReportsDirThatIsAFileExitsThreeListsNoFilesAndTheCoordinatorKeepsTheReport) {
  Coordinator coord("evidence");
  const std::string reports = coord.state_dir() + "/reports";
  std::ofstream(reports) << "a regular file where the reports dir should be\n";
  CmdResult run = coord.Ctl({"run", "-o", "json"}, 120);
  EXPECT_EQ(run.rc, 3) << run.err;
  EXPECT_NE(run.err.find("could NOT be written"), std::string::npos) << run.err;
  EXPECT_EQ(run.out.find("failover_report_"), std::string::npos) << "no path of a file that does not exist";
  const std::string id = RunIdIn(run.out);
  ASSERT_FALSE(id.empty()) << run.out;
  CmdResult text = coord.Ctl({"run"}, 120);
  EXPECT_EQ(text.rc, 3) << text.err;
  EXPECT_EQ(text.out.find("report:"), std::string::npos) << text.out;
  // No partial or temp file anywhere under the coordinator's dirs.
  for (const auto& e : std::filesystem::recursive_directory_iterator(coord.state_dir()))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << e.path();
  CmdResult rep = coord.Ctl({"report", id}, 30);
  EXPECT_EQ(rep.rc, 0) << rep.err;
  EXPECT_NE(rep.out.find("run " + id), std::string::npos) << rep.out;
  EXPECT_NE(rep.out.find("NOT written"), std::string::npos) << rep.out;
  CmdResult help = RunCmd({BinDir() + "/failoverctl", "--help"});
  EXPECT_NE(help.out.find("3 the failover succeeded but its report files could not be written"), std::string::npos)
      << help.out;
}

TEST_F(DrainE2E, PlanSaysNotFoundForAUnitThatDoesNotExistOnItsHostAndExitsOne) {
  std::string text = RequestConfigText();
  const std::string panel = "units: [sls-panel.service,";
  text.replace(text.find(panel), panel.size(), "units: [sls-ghost.service, sls-panel.service,");
  text.replace(text.find("services:\n"), 10, "services:\n  - name: sls-ghost\n");
  const std::string cfg = StateDir() + "/d-ghost.yaml";
  std::ofstream(cfg) << text;
  Coordinator coord("ghost");
  CmdResult plan = coord.Ctl({"plan", "-c", cfg, "--services", "sls-ghost,sls-panel"}, 60);
  EXPECT_EQ(plan.rc, 1) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("sls-ghost.service"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("NOT FOUND"), std::string::npos) << plan.out;
  EXPECT_EQ(plan.out.find("inactive/dead"), std::string::npos) << plan.out;
  EXPECT_NE(plan.err.find("unit sls-ghost.service not found on host panel"), std::string::npos) << plan.err;
  CmdResult json = coord.Ctl({"plan", "-c", cfg, "--services", "sls-panel", "-o", "json"}, 60);
  EXPECT_EQ(json.rc, 0) << json.err;
  EXPECT_NE(json.out.find("\"current_state\""), std::string::npos) << json.out;
  CmdResult health = coord.Ctl({"health", "--json"}, 120);
  EXPECT_NE(health.out.find("\"results\""), std::string::npos) << "health honours --json: " << health.out;
}

TEST_F(DrainE2E, ACoordinatorKilledMidRunEndsFailoverctlRunWithinSecondsWithExitOne) {
  const std::string cfg = ShortConfig("d-kill");
  auto coord = std::make_unique<Coordinator>("kill");
  const auto run = StartDuringSlowStart(*coord, "api", "sls-bot", {"run", "--execute", "-c", cfg});
  ASSERT_TRUE(run.started) << ReadFileOrEmpty(run.out);
  coord->Kill(SIGKILL);
  const auto killed = Clock::now();
  EXPECT_EQ(WaitChild(run.ctl, 10), 1) << ReadFileOrEmpty(run.out);
  const int64_t ended = MsSince(killed);
  EXPECT_LT(ended, 5000);
  std::cout << "DRAIN-CLI-END sigkill: failoverctl ended " << ended << " ms after the coordinator died" << std::endl;
  EXPECT_NE(ReadFileOrEmpty(run.out).find("broke mid-run"), std::string::npos) << ReadFileOrEmpty(run.out);
  EXPECT_GE(WaitForMs(AllActive, 20000), 0) << "the agents restore what they hold";
}

}  // namespace
}  // namespace failover::e2e
