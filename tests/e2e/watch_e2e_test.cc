// Issue 8, watching: what a dry run skips and why, and the live view of `failoverctl run` on a
// real pseudo-terminal, through a pipe, and as JSON lines, against the test bed.
#include <regex>
#include <sstream>

#include "failover/v1/coordinator.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

// Runs argv on a fresh pseudo-terminal (stdin, stdout and stderr of the child) and returns what
// the terminal received. Python's pty module: no terminal emulator involved.
CmdResult OnPty(const std::vector<std::string>& argv) {
  static const char* kPty =
      "import os, pty, subprocess, sys\n"
      "m, s = pty.openpty()\n"
      "p = subprocess.Popen(sys.argv[1:], stdin=s, stdout=s, stderr=s, close_fds=True)\n"
      "os.close(s)\n"
      "while True:\n"
      "    try:\n"
      "        d = os.read(m, 65536)\n"
      "    except OSError:\n"
      "        break\n"
      "    if not d:\n"
      "        break\n"
      "    sys.stdout.buffer.write(d)\n"
      "sys.exit(p.wait())\n";
  std::vector<std::string> cmd = {"/usr/bin/python3", "-c", kPty};
  cmd.insert(cmd.end(), argv.begin(), argv.end());
  return RunCmd(cmd, {{"TERM", "xterm"}}, 180);
}

// The last line of `text` that starts with `host` and names `unit`.
std::string LastRow(const std::string& text, const std::string& host, const std::string& unit) {
  std::string row;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.rfind("\033[2K");
    const std::string bare = at == std::string::npos ? line : line.substr(at + 4);
    if (bare.rfind(host + " ", 0) == 0 && Has(bare, unit)) row = bare;
  }
  return row;
}

class WatchE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(WatchE2E, ADryRunWithAUnitAlreadyStoppedReportsStopSkippedAlreadyInactiveAndStartsNothing) {
  ASSERT_EQ(HostExec("api", {"systemctl", "stop", "sls-bot.service"}).rc, 0);
  const uint32_t cerebro_pid = MainPid("cerebro", "sls-bot.service");
  Coordinator coord("w-skip");
  CmdResult run = coord.Ctl({"run", "--services", "sls-bot"});
  // A dry run still reads the gates: the stopped unit's health probe fails, so the run does too.
  EXPECT_EQ(run.rc, 1) << run.err << run.out;
  EXPECT_TRUE(Has(run.err, "probe bot-health UNHEALTHY")) << run.err;
  EXPECT_TRUE(std::regex_search(run.err, std::regex("api +sls-bot.service +stop skipped: already inactive")))
      << "the live output says it: " << run.err;
  const std::string text = coord.Ctl({"report"}).out;
  EXPECT_TRUE(std::regex_search(text, std::regex("api +sls-bot.service +stop skipped: already inactive"))) << text;
  EXPECT_TRUE(Has(coord.Ctl({"report", "-o", "md"}).out, "| stop | skipped | - |"));
  EXPECT_TRUE(Has(coord.Ctl({"report", "-o", "junit"}).out, "<skipped message=\"stop skipped: already inactive\"/>"));
  EXPECT_TRUE(Has(coord.Ctl({"report", "-o", "html"}).out, "stop skipped: already inactive"));
  const std::string json = coord.Ctl({"report", "-o", "json"}).out;
  EXPECT_TRUE(Has(json, "\"skip\": \"SKIP_REASON_ALREADY_STOPPED\"")) << json;
  EXPECT_TRUE(Has(json, "\"skip_reason\": \"already inactive\"")) << json;
  EXPECT_EQ(ActiveState("api", "sls-bot.service"), "inactive") << "a dry run starts nothing";
  EXPECT_EQ(MainPid("cerebro", "sls-bot.service"), cerebro_pid) << "and stops nothing";
}

TEST_F(WatchE2E, OnAPseudoTerminalTheRunRedrawsOneRowPerHostAndUnitInPlaceAndEndsWithThemActive) {
  Coordinator coord("w-pty");
  CmdResult tty = OnPty({BinDir() + "/failoverctl", "--coordinator", "unix:" + coord.socket(), "run", "--execute",
                         "--services", "sls-bot"});
  ASSERT_EQ(tty.rc, 0) << tty.out;
  EXPECT_TRUE(std::regex_search(tty.out, std::regex("\x1b\\[[0-9]+A"))) << "cursor up: " << tty.out;
  EXPECT_TRUE(Has(tty.out, "\r\x1b[2K")) << "clear line";
  EXPECT_TRUE(Has(tty.out, "HOST       UNIT")) << tty.out;
  for (const char* host : {"api", "cerebro"}) {
    const std::string row = LastRow(tty.out, host, "sls-bot.service");
    EXPECT_TRUE(std::regex_search(row, std::regex("sls-bot.service +active +[0-9]+\\.[0-9]s"))) << host << ": " << row;
  }
  EXPECT_TRUE(Has(tty.out, "outcome: SUCCEEDED")) << tty.out;
  EXPECT_TRUE(AllActive());
}

TEST_F(WatchE2E, PipedTheSameRunPrintsPlainLinesAndWithOJsonEveryLineIsAJsonEvent) {
  Coordinator coord("w-pipe");
  CmdResult plain = RunCmd({BinDir() + "/failoverctl", "--coordinator", "unix:" + coord.socket(), "run", "--execute",
                            "--services", "sls-bot"},
                           {{"TERM", "xterm"}}, 180);
  ASSERT_EQ(plain.rc, 0) << plain.err;
  EXPECT_FALSE(Has(plain.err, "\x1b[")) << "no escapes into a pipe: " << plain.err;
  EXPECT_TRUE(std::regex_search(plain.err, std::regex("\\] [^ ]+ api +sls-bot.service +stop sls-bot.service issued")))
      << plain.err;
  EXPECT_TRUE(Has(plain.out, "outcome: SUCCEEDED")) << plain.out;

  CmdResult json = coord.Ctl({"run", "--execute", "--services", "sls-bot", "-o", "json"}, 180);
  ASSERT_EQ(json.rc, 0) << json.err;
  std::istringstream in(json.out);
  int lines = 0, jobs_done = 0;
  v1::RunEvent last;
  for (std::string line; std::getline(in, line); ++lines) {
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &last).ok()) << "line " << lines << ": " << line;
    jobs_done += last.unit_event() == v1::UNIT_EVENT_JOB_DONE;
  }
  EXPECT_GT(lines, 4);
  EXPECT_EQ(jobs_done, 4) << "stop and start of sls-bot on api and cerebro";
  ASSERT_TRUE(last.has_report()) << "the last line carries the report";
  EXPECT_EQ(last.report().outcome(), v1::RUN_SUCCEEDED);
  EXPECT_TRUE(AllActive());
}

}  // namespace
}  // namespace failover::e2e
