// Issue 7 (part): the probe kinds the runbook's checklist needs, on the real path. A real
// Prometheus (Debian's package) started here scrapes the stand-ins' /metrics; a real restic
// repository is made inside a test host; the monitor guard reads the panel host's journal. Probes
// run in the agents (coordinator guards through `failoverctl health`, or the agent's Probe RPC).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/probe_runner.h"
#include "failover/tls.h"
#include "failover/v1/agent.grpc.pb.h"
#include "failover/v1/coordinator.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr char kPrometheus[] = "http://10.77.0.1:19090";

int64_t NowUnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Starts argv in the background, output to `log`; the caller kills it by the returned PID.
pid_t Start(const std::vector<std::string>& argv, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    const int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

void Stop(pid_t* pid) {
  if (*pid <= 0) return;
  kill(*pid, SIGTERM);
  for (int i = 0; i < 100 && waitpid(*pid, nullptr, WNOHANG) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (waitpid(*pid, nullptr, WNOHANG) == 0) {
    kill(*pid, SIGKILL);
    waitpid(*pid, nullptr, 0);
  }
  *pid = -1;
}

// Stops a started process by its PID when the scope ends (also on a failed ASSERT).
struct StopOnExit {
  pid_t* pid;
  ~StopOnExit() { Stop(pid); }
};

// A GET from the test process (root namespace); "" when nothing answers.
std::string Get(const std::string& url) {
  HttpFetch f = HttpFetchOnce(url, "", 1000, 1 << 20, true);
  return f.ok ? f.body : "";
}

// The test bed's config with `guards` replaced (written for failoverctl -c).
std::string ConfigWithGuards(const std::string& name, const std::string& guards) {
  std::string text = RequestConfigText();
  text = text.substr(0, text.find("guards:")) + "guards:\n" + guards;
  const std::string path = StateDir() + "/" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

std::unique_ptr<v1::Agent::Stub> AgentOn(const std::string& host, const std::string& ip) {
  const std::string certs = StateDir() + "/certs";
  TlsFiles files{certs + "/ca.pem", certs + "/coordinator.pem", certs + "/coordinator.key"};
  return v1::Agent::NewStub(
      grpc::CreateCustomChannel(ip + ":7700", *MakeChannelCredentials(files), DefaultChannelArguments(host)));
}

class GatesE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

// ---------------------------------------------------------------- Prometheus

class PrometheusGateE2E : public GatesE2E {
 protected:
  static void SetUpTestSuite() {
    const std::string dir = StateDir() + "/prometheus";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/data");
    std::ofstream(dir + "/prometheus.yml") << R"(global: {scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}
rule_files: [rules.yml]
scrape_configs:
  - job_name: sls
    static_configs:
      - targets: ["10.77.0.11:8080", "10.77.0.13:8083"]
)";
    std::ofstream(dir + "/rules.yml") << R"(groups:
  - name: sls
    rules:
      - alert: SlsDown
        expr: sls_up == 0
        labels: {severity: page}
        annotations: {summary: "a stand-in's /health is not 2xx"}
)";
    prometheus_ = Start({"/usr/bin/prometheus", "--config.file=" + dir + "/prometheus.yml",
                         "--storage.tsdb.path=" + dir + "/data", "--web.listen-address=10.77.0.1:19090"},
                        dir + "/prometheus.log");
    ready_ = WaitForMs([] { return Get(std::string(kPrometheus) + "/-/ready").find("Ready") != std::string::npos; },
                       30000) >= 0;
  }
  static void TearDownTestSuite() { Stop(&prometheus_); }

  void SetUp() override {
    GatesE2E::SetUp();
    ASSERT_TRUE(ready_) << "prometheus did not start; see " << StateDir() << "/prometheus/prometheus.log";
    // Both targets scraped and no alert left from an earlier test.
    ASSERT_GE(WaitForMs([] { return Get(std::string(kPrometheus) + "/api/v1/alerts").find("SlsDown") == std::string::npos &&
                                    Get(std::string(kPrometheus) + "/api/v1/query?query=sum(sls_up)").find("\"2\"") !=
                                        std::string::npos; },
                        30000),
              0);
  }

  static bool Firing() {
    return Get(std::string(kPrometheus) + "/api/v1/alerts").find("\"firing\"") != std::string::npos;
  }

  static std::string AlertGuard(const std::string& url, uint32_t deadline_ms) {
    return absl::StrCat("  - host: panel\n    probe: {name: sls-alerts, prometheus: {url: \"", url,
                        "\", alert: SlsDown, match: {service: sls-api}}, timeout_ms: 1000, deadline_ms: ", deadline_ms,
                        ", interval_ms: 200}\n");
  }

  static pid_t prometheus_;
  static bool ready_;
};
pid_t PrometheusGateE2E::prometheus_ = -1;
bool PrometheusGateE2E::ready_ = false;

TEST_F(PrometheusGateE2E, PrometheusProbeFailsWhileTheAlertFires) {
  Coordinator coord("g-prom-fires");
  SetControl("api", "sls-api.health-status", "503");
  const int64_t fired = WaitForMs(Firing, 20000);
  ASSERT_GE(fired, 0) << Get(std::string(kPrometheus) + "/api/v1/alerts");
  std::printf("[measure] unit unhealthy -> alert firing: %lld ms\n", static_cast<long long>(fired));
  const std::string cfg = ConfigWithGuards("g-prom-fires", AlertGuard(kPrometheus, 1000));
  CmdResult h = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  EXPECT_NE(h.out.find("sls-alerts"), std::string::npos) << h.out;
  EXPECT_NE(h.out.find("1 matching alert(s) firing: {alertname=\"SlsDown\",instance=\"10.77.0.11:8080\",job=\"sls\","
                       "service=\"sls-api\",severity=\"page\"} firing"),
            std::string::npos)
      << h.out;
  // The coordinator's own runner (no agent) reads the same answer.
  LocalProbeRunner coordinator_side("coordinator", {}, nullptr, RealClock::Get());
  v1::ProbeSpec p;
  p.set_name("sls-alerts");
  p.set_timeout_ms(1000);
  p.mutable_prometheus()->set_url(kPrometheus);
  p.mutable_prometheus()->set_alert("SlsDown");
  v1::ProbeResult r = coordinator_side.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_NE(r.detail().find("service=\"sls-api\""), std::string::npos) << r.detail();
}

TEST_F(PrometheusGateE2E, PrometheusProbePassesOnceTheAlertResolves) {
  Coordinator coord("g-prom-resolves");
  SetControl("api", "sls-api.health-status", "503");
  ASSERT_GE(WaitForMs(Firing, 20000), 0);
  const std::string cfg = ConfigWithGuards("g-prom-resolves", AlertGuard(kPrometheus, 30000));
  ClearControls();
  const auto healthy_again = SteadyClock::now();
  CmdResult h = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  const int64_t ms = MsSince(healthy_again);
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  EXPECT_NE(h.out.find("no matching alert(s) firing"), std::string::npos) << h.out;
  std::printf("[measure] unit healthy again -> prometheus gate passing: %lld ms (scrape and evaluation 1 s)\n",
              static_cast<long long>(ms));
  EXPECT_LT(ms, 15000);
}

TEST_F(PrometheusGateE2E, PrometheusProbeFailsNamingAnUnreachableServer) {
  Coordinator coord("g-prom-unreachable");
  const std::string cfg = ConfigWithGuards("g-prom-unreachable", AlertGuard("http://10.77.0.1:19099", 2000));
  const auto t0 = SteadyClock::now();
  CmdResult h = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  EXPECT_NE(h.out.find("prometheus http://10.77.0.1:19099: "), std::string::npos) << h.out;
  EXPECT_LT(MsSince(t0), 10000) << "bounded by the probe's 2 s deadline";
}

TEST_F(PrometheusGateE2E, PrometheusProbeFailsNamingAMalformedAnswer) {
  Coordinator coord("g-prom-junk");
  const std::string log = StateDir() + "/prometheus/junk.log";
  pid_t junk = Start({"/usr/bin/python3", "-c",
                      "import http.server as h\n"
                      "class H(h.BaseHTTPRequestHandler):\n"
                      "  def do_GET(self):\n"
                      "    self.send_response(200); self.end_headers(); self.wfile.write(b'<html>not prometheus</html>')\n"
                      "h.HTTPServer(('10.77.0.1', 19098), H).serve_forever()\n"},
                     log);
  StopOnExit stop{&junk};
  ASSERT_GE(WaitForMs([] { return !Get("http://10.77.0.1:19098/").empty(); }, 10000), 0) << ReadFileOrEmpty(log);
  const std::string cfg = ConfigWithGuards("g-prom-junk", AlertGuard("http://10.77.0.1:19098", 1000));
  CmdResult h = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  EXPECT_NE(h.out.find("prometheus http://10.77.0.1:19098: answer is not JSON"), std::string::npos) << h.out;
}

TEST_F(PrometheusGateE2E, AnAlertThatStartsFiringMidRunStopsItBeforeTheNextServiceAndRestores) {
  // The coordinator's own config with a stop condition on the real Prometheus's SlsDown alert.
  const std::string cfg = StateDir() + "/g-prom-stop.yaml";
  std::ofstream(cfg) << ReadFileOrEmpty(StateDir() + "/sls.yaml")
                     << "stop_conditions:\n  - name: no-sls-alerts\n    on: coordinator\n"
                        "    probe: {prometheus: {url: \"" << kPrometheus << "\", alert: SlsDown}, timeout_ms: 1000}\n";
  Coordinator coord("g-prom-stop", {"--config", cfg});
  SetControl("cerebro", "sls-cerebro.start-delay-ms", "3000");  // room for the alert before sls-api
  const std::string api_before = Prop("api", "sls-api.service", "ActiveEnterTimestampMonotonic");
  const std::string panel_api_before = Prop("panel", "sls-api.service", "ActiveEnterTimestampMonotonic");
  const std::string bot_before = Prop("api", "sls-bot.service", "ActiveEnterTimestampMonotonic");
  const pid_t run = coord.CtlAsync({"run", "--execute", "-o", "json"}, coord.state_dir() + "/run.out");
  ASSERT_GE(WaitForMs([&] { return Prop("api", "sls-bot.service", "ActiveEnterTimestampMonotonic") != bot_before; },
                      20000), 0) << "the run did not start";
  SetControl("panel", "sls-panel.health-status", "503");  // the panel stand-in turns unhealthy: SlsDown fires
  const auto flipped = SteadyClock::now();
  const int rc = WaitChild(run, 120);
  const int64_t ms = MsSince(flipped);
  const std::string out = ReadFileOrEmpty(coord.state_dir() + "/run.out");
  EXPECT_EQ(rc, 1) << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_NE(out.find("stop condition no-sls-alerts on coordinator tripped"), std::string::npos)
      << out.substr(out.size() > 3000 ? out.size() - 3000 : 0);
  EXPECT_EQ(Prop("api", "sls-api.service", "ActiveEnterTimestampMonotonic"), api_before) << "sls-api was touched";
  EXPECT_EQ(Prop("panel", "sls-api.service", "ActiveEnterTimestampMonotonic"), panel_api_before);
  ClearControls();
  EXPECT_GE(WaitForMs(AllActive, 20000), 0) << "a unit was left down after the stop";
  std::printf("[measure] panel unhealthy -> run over (alert firing, stop condition tripped, restore): %lld ms\n",
              static_cast<long long>(ms));
}

// ---------------------------------------------------------------- restic

class ResticGateE2E : public GatesE2E {
 protected:
  void SetUp() override {
    GatesE2E::SetUp();
    std::ofstream(StateDir() + "/secrets/restic_password") << "correct horse battery\n";
    std::ofstream(StateDir() + "/secrets/restic_wrong_password") << "not the password\n";
    std::filesystem::remove_all(repo_);
    std::filesystem::create_directories(StateDir() + "/restic");
    ASSERT_EQ(Restic({"init"}).rc, 0) << Restic({"init"}).err;
  }
  // restic inside the api host, on the repository the api agent's config names "backups".
  CmdResult Restic(std::vector<std::string> args) {
    std::vector<std::string> argv = {"env", "RESTIC_PASSWORD_FILE=" + StateDir() + "/secrets/restic_password",
                                     "RESTIC_REPOSITORY=" + repo_, "/usr/bin/restic", "--no-cache", "--quiet"};
    argv.insert(argv.end(), args.begin(), args.end());
    return HostExec("api", argv);
  }
  CmdResult Health(const std::string& name, const std::string& probe) {
    Coordinator coord(name);
    const std::string cfg = ConfigWithGuards(name, "  - host: api\n    probe: " + probe + "\n");
    return coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  }
  const std::string repo_ = StateDir() + "/restic/api";
};

TEST_F(ResticGateE2E, ResticProbePassesOnAFreshSnapshot) {
  ASSERT_EQ(Restic({"backup", "--host", "api", StateDir() + "/sls.yaml"}).rc, 0);
  CmdResult h = Health("g-restic-fresh", "{name: backup, restic: {repository: backups, max_age_ms: 3600000, host: api}, "
                                         "timeout_ms: 10000, deadline_ms: 10000}");
  EXPECT_EQ(h.rc, 0) << h.out << h.err;
  EXPECT_NE(h.out.find("restic repository \"backups\": latest snapshot "), std::string::npos) << h.out;
}

TEST_F(ResticGateE2E, ResticProbeFailsNamingAStaleSnapshotsTime) {
  ASSERT_EQ(Restic({"backup", "--host", "api", "--time", "2020-01-01 00:00:00", StateDir() + "/sls.yaml"}).rc, 0);
  CmdResult h = Health("g-restic-stale", "{name: backup, restic: {repository: backups, max_age_ms: 86400000}, "
                                         "timeout_ms: 10000, deadline_ms: 10000}");
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  EXPECT_NE(h.out.find("restic repository \"backups\": latest snapshot 2020-01-01T00:00:00Z is "), std::string::npos)
      << h.out;
  EXPECT_NE(h.out.find("d old, max 1d"), std::string::npos) << h.out;
}

TEST_F(ResticGateE2E, ResticProbeFailsClearlyOnAWrongPasswordAndAnEmptyRepository) {
  CmdResult empty = Health("g-restic-empty", "{name: backup, restic: {repository: backups, max_age_ms: 86400000}, "
                                             "timeout_ms: 10000, deadline_ms: 10000}");
  EXPECT_EQ(empty.rc, 1) << empty.out << empty.err;
  EXPECT_NE(empty.out.find("restic repository \"backups\": no snapshot"), std::string::npos) << empty.out;
  CmdResult wrong = Health("g-restic-wrong", "{name: backup, restic: {repository: backups-wrong-password, "
                                             "max_age_ms: 86400000}, timeout_ms: 10000, deadline_ms: 10000}");
  EXPECT_EQ(wrong.rc, 1) << wrong.out << wrong.err;
  EXPECT_NE(wrong.out.find("restic repository \"backups-wrong-password\": restic failed (exit status 1): "),
            std::string::npos)
      << wrong.out;
  EXPECT_NE(wrong.out.find("wrong password"), std::string::npos) << wrong.out;
  EXPECT_EQ(wrong.out.find("not the password"), std::string::npos) << wrong.out;
}

TEST_F(ResticGateE2E, ResticProbeNamingARepositoryTheAgentDoesNotDefineIsRefused) {
  CmdResult h = Health("g-restic-unknown", "{name: backup, restic: {repository: elsewhere, max_age_ms: 86400000}, "
                                           "timeout_ms: 10000, deadline_ms: 10000}");
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  EXPECT_NE(h.out.find("restic repository \"elsewhere\" is not defined in this agent's config (restic_repositories)"),
            std::string::npos)
      << h.out;
}

// ---------------------------------------------------------------- HTTP body

std::string PanelStatusGuard(uint32_t timeout_ms) {
  return absl::StrCat("  - host: panel\n    probe: {name: panel-status, http: {url: \"http://127.0.0.1:8083/health\", "
                      "bearer_secret: panel_token, json_field: status, json_equals: ok}, timeout_ms: ",
                      timeout_ms, ", deadline_ms: ", timeout_ms, "}\n");
}

TEST_F(GatesE2E, HttpProbeFailsOnAHealthyStatusWithADegradedBody) {
  Coordinator coord("g-body");
  const std::string cfg = ConfigWithGuards("g-body", PanelStatusGuard(1000));
  CmdResult ok = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
  SetControl("panel", "sls-panel.health-body", "{\"status\":\"degraded\"}\n");
  CmdResult bad = coord.Ctl({"health", "-c", cfg, "--services", "sls-panel"});
  EXPECT_EQ(bad.rc, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("http://127.0.0.1:8083/health: json field status is \"degraded\", want \"ok\""),
            std::string::npos)
      << bad.out;
}

TEST_F(GatesE2E, HttpProbeFailsOnAnEndlessBodyWithinItsTimeoutNamingTheBound) {
  Coordinator coord("g-endless");
  const std::string cfg = ConfigWithGuards("g-endless", PanelStatusGuard(5000));
  SetControl("panel", "sls-panel.health-endless");
  const auto t0 = SteadyClock::now();
  // sls-cerebro: the sweep's service probes stay off the panel's /health, which now streams too.
  CmdResult h = coord.Ctl({"health", "-c", cfg, "--services", "sls-cerebro", "--json"});
  const int64_t ms = MsSince(t0);
  EXPECT_EQ(h.rc, 1) << h.out << h.err;
  v1::HealthResponse resp;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(h.out, &resp, o).ok()) << h.out;
  const v1::ProbeResult* r = nullptr;
  for (const auto& x : resp.results())
    if (x.name() == "panel-status") r = &x;
  ASSERT_NE(r, nullptr) << h.out;
  EXPECT_FALSE(r->healthy());
  EXPECT_EQ(r->detail(), "http://127.0.0.1:8083/health: the body is longer than the 65536-byte bound (max_body_bytes)");
  std::printf("[measure] endless body: each attempt cut off after %lld ms (probe timeout 5000 ms); %u attempts; "
              "health answered in %lld ms (deadline 5000 ms)\n",
              static_cast<long long>(r->latency_us() / 1000), r->attempts(), static_cast<long long>(ms));
  EXPECT_LT(r->latency_us(), 2'000'000);
  EXPECT_LT(ms, 9000) << "bounded by the probe's deadline";
}

// ---------------------------------------------------------------- monitor guard

v1::ProbeResult MonitorGuard(int64_t since_unix_us) {
  v1::ProbeRequest req;
  v1::ProbeSpec* p = req.add_probes();
  p->set_name("monitor-guard");
  p->set_timeout_ms(1000);
  p->set_deadline_ms(1000);
  p->mutable_unit()->set_unit("sls-monitor.timer");
  p->mutable_unit()->set_result_unit("sls-monitor.service");
  p->mutable_unit()->set_no_failure_since_unix_us(since_unix_us);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::ProbeResponse resp;
  grpc::Status s = AgentOn("panel", "10.77.0.13")->Probe(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.results_size() == 1 ? resp.results(0) : v1::ProbeResult();
}

TEST_F(GatesE2E, MonitorGuardFailsNamingAFailureSinceTheRunBeganEvenAfterASuccess) {
  const int64_t since = NowUnixUs();
  SetControl("panel", "sls-panel.health-status", "503");
  EXPECT_NE(HostExec("panel", {"systemctl", "start", "sls-monitor.service"}).rc, 0) << "the monitor fails once";
  ClearControls();
  ASSERT_EQ(HostExec("panel", {"systemctl", "start", "sls-monitor.service"}).rc, 0) << "then succeeds";
  ASSERT_EQ(Prop("panel", "sls-monitor.service", "Result"), "success");
  v1::ProbeResult r = MonitorGuard(since);
  EXPECT_FALSE(r.healthy());
  const std::string since_text = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(since), absl::UTCTimeZone());
  EXPECT_NE(r.detail().find("sls-monitor.service failed since " + since_text + ": at "), std::string::npos)
      << r.detail();
  EXPECT_NE(r.detail().find("(exit-code)"), std::string::npos) << r.detail();
}

TEST_F(GatesE2E, MonitorGuardPassesWhenTheMonitorHasNotFailedSince) {
  // A failure before `since` does not count.
  SetControl("panel", "sls-panel.health-status", "503");
  HostExec("panel", {"systemctl", "start", "sls-monitor.service"});
  ClearControls();
  ASSERT_EQ(HostExec("panel", {"systemctl", "start", "sls-monitor.service"}).rc, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const int64_t since = NowUnixUs();
  ASSERT_EQ(HostExec("panel", {"systemctl", "start", "sls-monitor.service"}).rc, 0);
  v1::ProbeResult r = MonitorGuard(since);
  EXPECT_TRUE(r.healthy()) << r.detail();
  EXPECT_NE(r.detail().find("no failure of sls-monitor.service since"), std::string::npos) << r.detail();
}

}  // namespace
}  // namespace failover::e2e
