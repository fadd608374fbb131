// Issue 9 on the real-systemd test bed: maintenance windows (refusal naming the next window,
// --force recorded, a run stopped cleanly when its window ends) and webhook notifications
// (start/end/failure notices to a real local receiver, retries, a dead receiver costing the run
// nothing, the webhook URL redacted, the lead-time notice of a scheduled run).
#include <signal.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

// The test bed's own coordinator config plus `extra` (coordinator-only sections).
std::string OwnConfigWith(const std::string& name, const std::string& extra) {
  const std::string path = StateDir() + "/" + name + ".yaml";
  std::ofstream(path) << ReadFileOrEmpty(StateDir() + "/sls.yaml") << extra;
  return path;
}

// "HH:MM:SS" (UTC) of now + `seconds`.
std::string UtcClock(int seconds) {
  const std::time_t t = std::time(nullptr) + seconds;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

std::string ActiveSince(const std::string& host, const std::string& unit) {
  return Prop(host, unit, "ActiveEnterTimestampMonotonic");
}

// A python webhook receiver on loopback (tests/e2e/webhook_receiver.py), killed by PID at the end.
class Receiver {
 public:
  Receiver(int port, int fail_first) : out_(StateDir() + "/webhooks-" + std::to_string(port) + ".jsonl") {
    std::remove(out_.c_str());
    CmdResult r = RunCmd({"bash", "-c",
                          "python3 " + RepoDir() + "/tests/e2e/webhook_receiver.py --port " + std::to_string(port) +
                              " --out " + out_ + " --fail-first " + std::to_string(fail_first) +
                              " >/dev/null 2>&1 & echo $!"});
    pid_ = std::stoi(r.out);
    WaitForMs([&] { return RunCmd({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)}).rc == 0; },
              5000);
  }
  ~Receiver() {
    kill(pid_, SIGTERM);
    WaitForMs([&] { return kill(pid_, 0) != 0; }, 2000);
  }
  std::string Log() const { return ReadFileOrEmpty(out_); }
  int Count(const std::string& needle) const {
    int n = 0;
    std::istringstream in(Log());
    for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
    return n;
  }

 private:
  std::string out_;
  pid_t pid_ = -1;
};

class ScheduleE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(ScheduleE2E, ExecuteOutsideTheWindowIsRefusedNamingTheNextWindowAndChangesNothing) {
  // A daily window that opened an hour ago and closed a minute ago (UTC): now is outside it.
  const std::string cfg = OwnConfigWith("window-closed", "windows: [{start: \"" + UtcClock(-3600) + "\", end: \"" +
                                                             UtcClock(-60) + "\", tz: UTC}]\n");
  Coordinator coord("window-closed", {"--config", cfg});
  const std::string before = ActiveSince("api", "sls-bot.service");
  CmdResult r = coord.Ctl({"run", "--execute"});
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("outside every maintenance window; the next window opens"), std::string::npos)
      << r.out << r.err;
  EXPECT_NE((r.out + r.err).find("--force"), std::string::npos);
  EXPECT_EQ(ActiveSince("api", "sls-bot.service"), before) << "a refused run changed a unit";
  EXPECT_NE(ReadFileOrEmpty(coord.state_dir() + "/coordinator.log").find("[audit] executed run by"),
            std::string::npos);
  CmdResult dry = coord.Ctl({"run"});
  EXPECT_EQ(dry.rc, 0) << "a dry run is not bound to the windows: " << dry.out << dry.err;
}

TEST_F(ScheduleE2E, ForceActsOutsideTheWindowAndTheReportRecordsIt) {
  const std::string cfg = OwnConfigWith("window-forced", "windows: [{start: \"" + UtcClock(-3600) + "\", end: \"" +
                                                             UtcClock(-60) + "\", tz: UTC}]\n");
  Coordinator coord("window-forced", {"--config", cfg});
  CmdResult r = coord.Ctl({"run", "--execute", "--force", "--services", "sls-bot"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  CmdResult rep = coord.Ctl({"report", "-o", "json"});
  EXPECT_NE(rep.out.find("\"maintenance_window\": \"FORCED outside every maintenance window (--force)"),
            std::string::npos)
      << rep.out.substr(0, 2000);
  EXPECT_NE(ReadFileOrEmpty(coord.state_dir() + "/coordinator.log").find("FORCED outside"), std::string::npos);
}

TEST_F(ScheduleE2E, ARunOutlastingItsWindowStopsAtItsEndAndRestores) {
  // The window ends 3 s from now; the full rolling run needs longer (settle window 1 s per step).
  const std::string cfg = OwnConfigWith("window-ends", "windows: [{start: \"" + UtcClock(-600) + "\", end: \"" +
                                                           UtcClock(3) + "\", tz: UTC}]\n");
  Coordinator coord("window-ends", {"--config", cfg});
  const std::string api_before = ActiveSince("api", "sls-api.service");
  const auto t0 = std::chrono::steady_clock::now();
  CmdResult r = coord.Ctl({"run", "--execute"});
  const int64_t took = MsSince(t0);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("the maintenance window"), std::string::npos) << r.out;
  CmdResult rep = coord.Ctl({"report", "-o", "json"});
  EXPECT_NE(rep.out.find("RUN_ABORTED"), std::string::npos) << rep.out.substr(0, 1500);
  EXPECT_NE(rep.out.find("ended at"), std::string::npos);
  EXPECT_EQ(ActiveSince("api", "sls-api.service"), api_before) << "the last service was touched after the window";
  EXPECT_TRUE(AllActive()) << "a unit was left down when the window ended";
  std::printf("[ measure ] window end -> run over: run took %lld ms with a window ending ~3 s in\n",
              static_cast<long long>(took));
}

TEST_F(ScheduleE2E, WebhooksGetStartEndAndFailureNoticesAndDeadReceiversCostTheRunNothing) {
  Receiver good(18931, /*fail_first=*/1);  // the first POST is answered 503: the notifier retries
  const std::string cfg = OwnConfigWith(
      "notify", "notifications:\n"
                "  - {name: ops-json, url: {env: HOOK_URL}, format: json}\n"
                "  - {name: ops-slack, url: \"http://127.0.0.1:18931/slack\", format: slack, events: [failure]}\n"
                "  - {name: dead, url: \"http://127.0.0.1:1/nobody\", attempts: 3}\n"
                "  - {name: hanging, url: \"http://127.0.0.1:18931/hang\", timeout_ms: 1000, attempts: 2}\n");
  setenv("HOOK_URL", "http://127.0.0.1:18931/hook/s3cr3t-token", 1);
  Coordinator coord("notify", {"--config", cfg});
  unsetenv("HOOK_URL");
  const auto t0 = std::chrono::steady_clock::now();
  CmdResult ok = coord.Ctl({"run", "--execute", "--services", "sls-bot"});
  const int64_t took = MsSince(t0);
  ASSERT_EQ(ok.rc, 0) << ok.out << ok.err;
  EXPECT_LT(took, 15000) << "dead receivers held the run up";
  EXPECT_GE(WaitForMs([&] { return good.Count("\\\"event\\\":\\\"end\\\"") >= 1; }, 10000), 0) << good.Log();
  EXPECT_GE(good.Count("\\\"event\\\":\\\"start\\\""), 1) << good.Log();
  EXPECT_GE(good.Count("\"status\": 503"), 1) << "the first delivery was refused and retried";
  // A failing run: the failure notice, Slack-shaped, reaches its receiver.
  SetControl("api", "sls-bot.fail-start");
  CmdResult bad = coord.Ctl({"run", "--execute", "--services", "sls-bot"});
  ClearControls();
  EXPECT_EQ(bad.rc, 1);
  EXPECT_GE(WaitForMs([&] { return good.Count("\"path\": \"/slack\"") >= 1; }, 10000), 0) << good.Log();
  EXPECT_GE(good.Count("\\\"event\\\":\\\"failure\\\""), 1) << good.Log();
  const std::string log = ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  EXPECT_NE(log.find("notification dead (end) NOT delivered after 3 attempt(s)"), std::string::npos) << log;
  EXPECT_EQ(log.find("s3cr3t-token"), std::string::npos) << "the webhook URL leaked into the log";
}

TEST_F(ScheduleE2E, AScheduledRunNoticeArrivesTheLeadTimeBeforeItActs) {
  Receiver good(18932, 0);
  const std::string cfg = OwnConfigWith(
      "notify-lead", "notifications: [{name: ops, url: \"http://127.0.0.1:18932/hook\", lead_time_ms: 2000}]\n");
  Coordinator coord("notify-lead", {"--config", cfg});
  CmdResult r = coord.Ctl({"run", "--execute", "--scheduled", "--services", "sls-bot"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(ReadFileOrEmpty(coord.state_dir() + "/coordinator.log").find("acting in 2 s (notification lead time)"),
            std::string::npos);
  // The notice's arrival vs. the first stop, both on this machine's clock.
  std::istringstream in(good.Log());
  double notice_t = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find("starts in 2 s") != std::string::npos) notice_t = std::stod(line.substr(line.find("\"t\": ") + 5));
  ASSERT_GT(notice_t, 0) << good.Log();
  const std::string stopped =
      HostExec("api", {"systemctl", "show", "--timestamp=us+utc", "-P", "InactiveEnterTimestamp", "sls-bot.service"}).out;
  CmdResult epoch = RunCmd({"date", "-d", stopped.substr(stopped.find(' ') + 1), "+%s.%N"});
  const double stop_t = std::stod(epoch.out);
  EXPECT_GE(stop_t - notice_t, 1.9) << "acted " << stop_t - notice_t << " s after the notice";
  std::printf("[ measure ] notice -> first stop: %.2f s (lead time 2 s)\n", stop_t - notice_t);
}

}  // namespace
}  // namespace failover::e2e
