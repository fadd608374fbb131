// Issue 7 (the checklist as gates around and during a run), on the real-systemd test bed: gates
// before and after a run, --require-healthy / --force, a stop condition stopping a run mid-way,
// and a request config that may not add coordinator-side gates. systemctl inside the hosts is the
// witness; the stop condition's reaction time is printed ("GATES-STOP ...").
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

// A host gate on api's sls-api (the stand-in at 127.0.0.1:8080 inside the host).
constexpr char kApiGate[] = R"(gates:
  - name: api-ok
    on: api
    probe: {http: {url: "http://127.0.0.1:8080/health", bearer_secret: panel_token}, timeout_ms: 1000, deadline_ms: 5000}
)";

// ShortConfig with `tail` appended (gates:, stop_conditions:), for failoverctl -c.
std::string GateConfig(const std::string& name, const std::string& tail, const std::string& extra_defaults = "") {
  const std::string path = ShortConfig(name, extra_defaults);
  std::ofstream(path, std::ios::app) << tail;
  return path;
}

// ActiveEnterTimestamp of every SLS unit: changes whenever a unit is (re)started.
std::map<std::string, std::string> EnterTimes() {
  std::map<std::string, std::string> out;
  for (const auto& [host, unit] : kSls) out[host + "/" + unit] = Prop(host, unit, "ActiveEnterTimestamp");
  return out;
}

std::string ReportLogs(const std::string& coordinator_state_dir) {
  std::string all;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(coordinator_state_dir + "/reports", ec))
    if (e.path().extension() == ".log") all += ReadFileOrEmpty(e.path().string());
  return all;
}

bool Has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

int64_t UnixMsNow() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GatesRunE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override {
    RestartAgentsAndResetTestBed();  // a host a run left held is free again
  }
};

TEST_F(GatesRunE2E, RequireHealthyRefusesAnExecuteWhileAGateFails) {
  const std::string cfg = GateConfig("g-refuse", kApiGate);
  SetControl("api", "sls-api.health-status", "503");
  const auto before = EnterTimes();
  Coordinator coord("g-refuse");
  CmdResult run = coord.Ctl({"run", "--execute", "--require-healthy", "-c", cfg, "-o", "json"}, 120);
  EXPECT_EQ(run.rc, 1) << run.out << run.err;
  const std::string report = ReportJsonOfRun(run.out);  // -o json: JSON lines, the last one with the report
  EXPECT_TRUE(Has(report, "\"outcome\": \"RUN_REFUSED\"")) << run.out;
  EXPECT_TRUE(Has(report, "refused before any change: --require-healthy:")) << run.out;
  EXPECT_TRUE(Has(report, "api-ok on api: HTTP 503")) << run.out;
  EXPECT_TRUE(Has(run.out, "pre-flight gate api-ok: FAILING")) << "the event's JSON line: " << run.out;
  EXPECT_EQ(EnterTimes(), before) << "no unit was stopped or started on any host";
  EXPECT_TRUE(AllActive());
  // Without --require-healthy the same dry run goes ahead and reports the state before.
  CmdResult dry = coord.Ctl({"run", "--require-healthy", "-c", cfg, "-o", "json"}, 120);
  EXPECT_FALSE(Has(dry.out, "RUN_REFUSED")) << dry.out;
}

TEST_F(GatesRunE2E, ForceGoesAheadAndTheReportRecordsIt) {
  const std::string cfg = GateConfig("g-force", kApiGate);
  SetControl("api", "sls-api.unhealthy-until-restart");
  Coordinator coord("g-force");
  CmdResult run =
      coord.Ctl({"run", "--execute", "--require-healthy", "--force", "-c", cfg, "--services", "sls-api", "-o", "json"},
                120);
  EXPECT_EQ(run.rc, 0) << run.out << run.err;
  const std::string report = ReportJsonOfRun(run.out);
  EXPECT_TRUE(Has(report, "\"outcome\": \"RUN_SUCCEEDED\"")) << run.out;
  EXPECT_TRUE(Has(report, "\"forced\": true")) << run.out;
  EXPECT_TRUE(std::regex_search(report, std::regex("\"forced_failing_gates\": \\[[^\\]]*\"api-ok\""))) << run.out;
  const std::string log = ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  EXPECT_TRUE(Has(log, "--force: starting although --require-healthy found")) << "audited in the coordinator's log";
  EXPECT_TRUE(Has(ReportLogs(coord.state_dir()), "forced:    yes (--force over failing pre-flight gates:"));
}

TEST_F(GatesRunE2E, TheReportShowsEachGateBeforeAndAfter) {
  const std::string cfg = GateConfig("g-before-after", kApiGate);
  SetControl("api", "sls-api.unhealthy-until-restart");
  Coordinator coord("g-before-after");
  CmdResult run = coord.Ctl({"run", "--execute", "-c", cfg, "--services", "sls-api"}, 120);
  EXPECT_EQ(run.rc, 0) << run.out << run.err << " (a failing pre-flight gate does not stop an incident failover)";
  const std::string logs = ReportLogs(coord.state_dir());
  EXPECT_TRUE(std::regex_search(logs, std::regex("before +api-ok +api +FAILED .*HTTP 503"))) << logs;
  EXPECT_TRUE(std::regex_search(logs, std::regex("after +api-ok +api +PASSED .*HTTP 200"))) << logs;
  // The coordinator's own health check (API_BASE = api's sls-api) and the monitor guard are gates too.
  EXPECT_TRUE(std::regex_search(logs, std::regex("before +health-check +coordinator +FAILED"))) << logs;
  EXPECT_TRUE(std::regex_search(logs, std::regex("after +health-check +coordinator +PASSED"))) << logs;
  EXPECT_TRUE(std::regex_search(logs, std::regex("after +monitor-guard +panel +PASSED"))) << logs;
}

TEST_F(GatesRunE2E, AStopConditionThatTripsMidRunStopsBeforeTheNextServiceAndRestores) {
  const std::string cfg = GateConfig("g-stop", R"(stop_conditions:
  - name: worker-ok
    on: cerebro
    probe: {http: {url: "http://127.0.0.1:8084/health", bearer_secret: panel_token}, timeout_ms: 500}
)");
  const std::string api_on_api = Prop("api", "sls-api.service", "ActiveEnterTimestamp");
  const std::string api_on_panel = Prop("panel", "sls-api.service", "ActiveEnterTimestamp");
  // Order sls-bot → sls-cerebro → sls-api: the flip comes once sls-bot is done, while sls-cerebro starts.
  SetControl("cerebro", "sls-cerebro.start-delay-ms", "1500");
  Coordinator coord("g-stop");
  const std::string out = coord.state_dir() + "/run.out";
  const pid_t ctl = coord.CtlAsync({"run", "--execute", "-c", cfg, "-o", "json"}, out);
  ASSERT_GE(WaitForMs([] { return ActiveState("cerebro", "sls-cerebro.service") == "activating"; }, 60000), 0)
      << ReadFileOrEmpty(out);
  const int64_t flip_unix_ms = UnixMsNow();
  const auto flipped = std::chrono::steady_clock::now();
  SetControl("cerebro", "sls-worker.health-status", "500");
  const int rc = WaitChild(ctl, 120);
  const int64_t to_exit = MsSince(flipped);
  const std::string json = ReportJsonOfRun(ReadFileOrEmpty(out));
  EXPECT_EQ(rc, 1) << ReadFileOrEmpty(out);
  EXPECT_TRUE(Has(json, "\"outcome\": \"RUN_ABORTED\"")) << json;
  EXPECT_TRUE(Has(json, "ABORTED: stop condition worker-ok on cerebro tripped: HTTP 500")) << json;
  EXPECT_EQ(Prop("api", "sls-api.service", "ActiveEnterTimestamp"), api_on_api) << "sls-api on api never stopped";
  EXPECT_EQ(Prop("panel", "sls-api.service", "ActiveEnterTimestamp"), api_on_panel) << "sls-api on panel never stopped";
  EXPECT_TRUE(AllActive()) << "restored";
  std::smatch m;
  ASSERT_TRUE(std::regex_search(json, m, std::regex("\"tripped_at_unix_us\": \"([0-9]+)\""))) << json;
  const int64_t to_trip = std::stoll(m[1].str()) / 1000 - flip_unix_ms;
  EXPECT_GE(to_trip, 0);
  EXPECT_LE(to_trip, 2000) << "watched every 500 ms, each look bounded by its 500 ms timeout";
  std::cout << "GATES-STOP flip-to-trip: " << to_trip << " ms, flip-to-run-end (step in flight finished, restore, "
            << "final gates, report): " << to_exit << " ms" << std::endl;
  ::testing::Test::RecordProperty("stop_flip_to_trip_ms", std::to_string(to_trip));
  ::testing::Test::RecordProperty("stop_flip_to_end_ms", std::to_string(to_exit));
}

TEST_F(GatesRunE2E, RequestConfigCannotAddCoordinatorGates) {
  const auto before = EnterTimes();
  Coordinator coord("g-request");
  for (const char* key : {"gates", "stop_conditions"}) {
    const std::string cfg = GateConfig(std::string("g-request-") + key,
                                       std::string(key) + R"(:
  - name: peek
    on: coordinator
    probe: {http: {url: "http://10.77.0.11:8080/health"}}
)");
    for (const char* verb : {"plan", "run"}) {
      std::vector<std::string> args = {verb, "-c", cfg};
      if (std::string(verb) == "run") args.push_back("--execute");
      CmdResult r = coord.Ctl(args, 60);
      EXPECT_EQ(r.rc, 2) << key << " " << verb << ": " << r.out << r.err;
      EXPECT_TRUE(Has(r.err, std::string(key) + "[0].on: a config sent with a request may run gates only on its hosts"))
          << r.err;
      EXPECT_TRUE(Has(r.err, cfg + ":")) << "names the file and line: " << r.err;
    }
  }
  EXPECT_EQ(EnterTimes(), before);
}

}  // namespace
}  // namespace failover::e2e
