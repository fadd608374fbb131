// Issue 10: the coordinator parses its own config once at start (refusing a bad one) and again on SIGHUP.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

std::string Replaced(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return pos == std::string::npos ? text : text.replace(pos, from.size(), to);
}

TEST(CoordinatorConfigE2E, ACoordinatorWithABrokenConfigRefusesToStartNamingFileAndLine) {
  const std::string dir = StateDir() + "/coord-brokenstart";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string bad = dir + "/own.yaml";
  std::ofstream(bad) << Replaced(ReadFileOrEmpty(StateDir() + "/sls.yaml"), "max_parallel: 1", "max_parallel: -3");
  CmdResult r = RunCmd({BinDir() + "/failover-coordinator", "--config", bad, "--listen", "unix:" + dir + "/c.sock"},
                       {{"PANEL_TOKEN", PanelToken()}}, 10);
  EXPECT_EQ(r.rc, 2) << r.err;
  EXPECT_NE(r.err.find(bad + ":5: defaults.max_parallel"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/c.sock")) << "it never listened";
  CmdResult missing = RunCmd({BinDir() + "/failover-coordinator", "--config", dir + "/nope.yaml", "--listen",
                              "unix:" + dir + "/c.sock"}, {}, 10);
  EXPECT_EQ(missing.rc, 2) << missing.err;
  EXPECT_NE(missing.err.find(dir + "/nope.yaml: cannot read the config"), std::string::npos) << missing.err;
  std::filesystem::remove_all(dir);
}

// Polls `plan` until its first line contains `want` (a reload is picked up within ~100 ms).
std::string PlanUntil(const Coordinator& coord, const std::string& want) {
  std::string first_line;
  for (int i = 0; i < 50; ++i) {
    CmdResult p = coord.Ctl({"plan"});
    first_line = p.out.substr(0, p.out.find('\n'));
    if (first_line.find(want) != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return first_line;
}

TEST(CoordinatorConfigE2E, SighupReloadsTheConfigAndABadReloadKeepsTheOldOne) {
  const std::string own = StateDir() + "/sighup-own.yaml";
  const std::string original = ReadFileOrEmpty(StateDir() + "/sls.yaml");
  std::ofstream(own, std::ios::trunc) << original;
  Coordinator coord("sighup", {"--config", own});
  EXPECT_EQ(PlanUntil(coord, "sls-bot → sls-cerebro → sls-api"), "mode rolling, services sls-bot → sls-cerebro → sls-api");

  std::ofstream(own, std::ios::trunc) << Replaced(original, "order: [sls-bot, sls-cerebro, sls-api]", "order: [sls-panel]");
  kill(coord.pid(), SIGHUP);
  EXPECT_EQ(PlanUntil(coord, "services sls-panel"), "mode rolling, services sls-panel");

  std::ofstream(own, std::ios::trunc) << Replaced(original, "max_parallel: 1", "max_parallel: -3");
  kill(coord.pid(), SIGHUP);
  std::string log;
  for (int i = 0; i < 50 && log.find("keeping the previous config") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  }
  EXPECT_NE(log.find("keeping the previous config: " + own + ":5: defaults.max_parallel"), std::string::npos) << log;
  CmdResult p = coord.Ctl({"plan"});
  EXPECT_EQ(p.out.substr(0, p.out.find('\n')), "mode rolling, services sls-panel") << "still the last good config";
  std::filesystem::remove(own);
}

}  // namespace
}  // namespace failover::e2e
