// The seed's entry points on the test bed: a caller's API_BASE and token (allowed, refused, and
// never the coordinator's own token), health over every service, and the availability budget
// witnessed by systemd's own timestamps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

// A real HTTP server on the bridge address 10.77.0.1 (the coordinator's side of the test bed):
// answers 200 {"status":"ok"} and keeps every request's head.
class Receiver {
 public:
  explicit Receiver(int port) : port_(port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "10.77.0.1", &a.sin_addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd_, 16) != 0)
      throw std::runtime_error("receiver: cannot listen on 10.77.0.1:" + std::to_string(port));
    thread_ = std::thread([this] { Serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::vector<std::string> Requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::string Base() const { return "http://10.77.0.1:" + std::to_string(port_); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::string head;
      char buf[2048];
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < 65536) {
        pollfd q{c, POLLIN, 0};
        if (poll(&q, 1, 2000) <= 0) break;
        ssize_t n = read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(head);
      }
      const std::string body = "{\"status\":\"ok\"}";
      const std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
      (void)!write(c, resp.data(), resp.size());
      close(c);
    }
  }
  int port_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

// failoverctl against `coord` with an environment of our choosing (the caller's PANEL_TOKEN).
CmdResult CtlWithEnv(const Coordinator& coord, const std::vector<std::string>& args,
                     const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {BinDir() + "/failoverctl", "--coordinator", "unix:" + coord.socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCmd(argv, env, 300);
}

std::string Everything(const Coordinator& coord) {
  std::string all = ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  std::error_code ec;
  for (const auto& e : std::filesystem::recursive_directory_iterator(coord.state_dir(), ec))
    if (e.is_regular_file(ec)) all += ReadFileOrEmpty(e.path().string());
  return all;
}

class SeedE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(SeedE2E, CallerApiBaseUnderAnAllowedPrefixIsUsed) {
  Receiver rx(18181);
  Coordinator coord("seed-allowed");
  const std::string token = "caller-token-4f2e9a7b";
  CmdResult h = CtlWithEnv(coord, {"health", "--api-base", rx.Base()}, {{"PANEL_TOKEN", token}});
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  auto reqs = rx.Requests();
  ASSERT_FALSE(reqs.empty()) << "the caller's API base was never asked";
  EXPECT_EQ(reqs[0].rfind("GET /health ", 0), 0u) << reqs[0];
  EXPECT_NE(reqs[0].find("Authorization: Bearer " + token), std::string::npos) << reqs[0];
  EXPECT_NE(h.out.find("10.77.0.1:18181"), std::string::npos) << h.out;
  // A dry run with the same caller base: its token is in no event, report or log.
  CmdResult run = CtlWithEnv(coord, {"run", "--api-base", rx.Base()}, {{"PANEL_TOKEN", token}});
  EXPECT_EQ(run.rc, 0) << run.out << run.err;
  EXPECT_EQ((h.out + h.err + run.out + run.err).find(token), std::string::npos) << "token printed by failoverctl";
  EXPECT_EQ(Everything(coord).find(token), std::string::npos) << "token in the coordinator's log, journal or reports";
}

TEST_F(SeedE2E, CallerApiBaseOutsideTheAllowedPrefixesIsRefusedAndNothingChanges) {
  Coordinator coord("seed-refused");
  std::map<std::pair<std::string, std::string>, uint32_t> pids;
  for (const auto& hu : kSls) pids[hu] = MainPid(hu.first, hu.second);
  for (const std::string bad : {"https://api.prod.example.com", "http://10.77.0.1.nip.io:18182",
                                "http://10.77.0.1@evil.example/"}) {
    CmdResult r = CtlWithEnv(coord, {"run", "--execute", "--api-base", bad}, {{"PANEL_TOKEN", "tok-refused-1"}});
    EXPECT_NE(r.rc, 0) << bad;
    EXPECT_NE(r.err.find(bad.substr(0, 20)), std::string::npos) << r.err;
  }
  CmdResult r = CtlWithEnv(coord, {"run", "--execute", "--api-base", "https://api.prod.example.com"}, {});
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("allowed_api_bases [http://10.77.0.]"), std::string::npos) << r.err;
  for (const auto& hu : kSls) EXPECT_EQ(MainPid(hu.first, hu.second), pids[hu]) << hu.first << " " << hu.second;
  const std::string log = ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  EXPECT_NE(log.find("refused a request's API base: API base \"https://api.prod.example.com\""), std::string::npos)
      << log;
  EXPECT_EQ(log.find("tok-refused-1"), std::string::npos);
}

TEST_F(SeedE2E, TheCoordinatorsOwnTokenNeverGoesToACallersApiBase) {
  Receiver rx(18183);
  Coordinator coord("seed-own-token");  // started with the test bed's PANEL_TOKEN in its environment
  CmdResult h = CtlWithEnv(coord, {"health", "--api-base", rx.Base()}, {{"PANEL_TOKEN", ""}});
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  auto reqs = rx.Requests();
  ASSERT_FALSE(reqs.empty());
  for (const auto& q : reqs) {
    EXPECT_EQ(q.find("Authorization"), std::string::npos) << q;
    EXPECT_EQ(q.find(PanelToken()), std::string::npos) << q;
  }
}

TEST_F(SeedE2E, HealthChecksThePanelEvenWhenNotInServices) {
  Coordinator coord("seed-health");
  CmdResult h = coord.Ctl({"health", "--services", "sls-bot", "-o", "json"});
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  for (const char* probe : {"\"panel-health\"", "\"api-health\"", "\"cerebro-health\"", "\"monitor-guard\"",
                            "\"health_check\""})
    EXPECT_NE(h.out.find(probe), std::string::npos) << probe << " missing from " << h.out;
}

// systemd's own record of a unit's last down window: [ActiveExit, ActiveEnter] on the monotonic
// clock (the test hosts share the kernel's).
struct DownWindow {
  uint64_t from = 0, to = 0;
};
DownWindow LastDown(const std::string& host, const std::string& unit) {
  return {std::stoull("0" + Prop(host, unit, "ActiveExitTimestampMonotonic")),
          std::stoull("0" + Prop(host, unit, "ActiveEnterTimestampMonotonic"))};
}

// A coordinator config: the test bed's sls.yaml with sls-api under min_healthy 1.
std::string BudgetConfig() {
  std::string text = ReadFileOrEmpty(StateDir() + "/sls.yaml");
  const std::string at = "  - name: sls-api\n";
  text.insert(text.find(at) + at.size(), "    min_healthy: 1\n    min_healthy_wait_ms: 1500\n");
  const std::string path = StateDir() + "/seed-budget.yaml";
  std::ofstream(path) << text;
  return path;
}

void ExpectApiWindowsNeverOverlap(const DownWindow& api_before, const DownWindow& panel_before) {
  const DownWindow api = LastDown("api", "sls-api.service"), panel = LastDown("panel", "sls-api.service");
  ASSERT_GT(api.from, api_before.to) << "sls-api on api was not restarted";
  ASSERT_GT(panel.from, panel_before.to) << "sls-api on panel was not restarted";
  ASSERT_LT(api.from, api.to);
  ASSERT_LT(panel.from, panel.to);
  const int64_t gap_us = api.to <= panel.from ? int64_t(panel.from - api.to) : int64_t(api.from) - int64_t(panel.to);
  std::cout << "measured: sls-api down on api " << (api.to - api.from) / 1000 << " ms, on panel "
            << (panel.to - panel.from) / 1000 << " ms, both up for " << gap_us / 1000 << " ms between them\n";
  EXPECT_TRUE(api.to <= panel.from || panel.to <= api.from)
      << "both sls-api instances were down at once: api [" << api.from << ", " << api.to << "], panel ["
      << panel.from << ", " << panel.to << "] (us, monotonic)";
}

TEST_F(SeedE2E, AvailabilityBudgetNeverHasBothApiInstancesDown) {
  Coordinator coord("seed-budget", {"--config", BudgetConfig()});
  const DownWindow api0 = LastDown("api", "sls-api.service"), panel0 = LastDown("panel", "sls-api.service");
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-api"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  EXPECT_NE(r.err.find("availability budget of sls-api (min_healthy 1)"), std::string::npos) << r.err;
  ExpectApiWindowsNeverOverlap(api0, panel0);
}

TEST_F(SeedE2E, MaxParallelTwoIsRefusedOrSerialisedByTheBudget) {
  Coordinator coord("seed-budget-mp", {"--config", BudgetConfig()});
  CmdResult plan = coord.Ctl({"plan", "--services", "sls-api", "--max-parallel", "2"});
  EXPECT_EQ(plan.rc, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("--max-parallel 2 narrowed to 1"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("02-restart-sls-api-w2"), std::string::npos) << "serialised into two waves: " << plan.out;
  const DownWindow api0 = LastDown("api", "sls-api.service"), panel0 = LastDown("panel", "sls-api.service");
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-api", "--max-parallel", "2"});
  ASSERT_EQ(r.rc, 0) << r.out << r.err;
  ExpectApiWindowsNeverOverlap(api0, panel0);
  CmdResult stop_all = coord.Ctl({"run", "--execute", "--services", "sls-api", "--mode", "stop-all"});
  EXPECT_NE(stop_all.rc, 0);
  EXPECT_NE(stop_all.err.find("stop-all"), std::string::npos) << stop_all.err;
}

TEST_F(SeedE2E, AStepBelowTheBudgetWaitsThenFailsNamingTheInstanceAndStopsNothing) {
  Coordinator coord("seed-budget-low", {"--config", BudgetConfig()});
  SetControl("panel", "sls-api.health-status", "503");  // the other sls-api instance answers 503
  const uint32_t api_pid = MainPid("api", "sls-api.service");
  const auto t0 = std::chrono::steady_clock::now();
  CmdResult r = coord.Ctl({"run", "--execute", "--services", "sls-api"});
  const int64_t ms = MsSince(t0);
  EXPECT_EQ(r.rc, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("not healthy now: panel"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("waiting up to 1500 ms"), std::string::npos) << r.err;
  EXPECT_EQ(MainPid("api", "sls-api.service"), api_pid) << "sls-api on api was stopped below the budget";
  EXPECT_LT(ms, 30000) << "the wait is bounded by min_healthy_wait_ms";
  std::cout << "measured: a run refused by the budget (min_healthy_wait_ms 1500) ended after " << ms << " ms\n";
}

}  // namespace
}  // namespace failover::e2e
