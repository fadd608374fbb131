// Run history, trends, what users saw and /metrics, end to end on the real-systemd test bed.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "harness.h"
#include "failover/v1/coordinator.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace failover::e2e {
namespace {

template <typename M>
M ParseJson(const std::string& text) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &m, o).ok()) << text;
  return m;
}

class HistoryE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

v1::Report LatestReport(const Coordinator& c) {
  CmdResult r = c.Ctl({"report", "-o", "json"});
  EXPECT_NE(r.rc, 2) << r.err;
  return ParseJson<v1::Report>(r.out);
}

TEST_F(HistoryE2E, RunsAndTrendsSurviveACoordinatorRestart) {
  std::string dry_id, exec_id;
  {
    Coordinator c("hist-restart");
    ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
    dry_id = LatestReport(c).run_id();
    CmdResult r = c.Ctl({"run", "--execute", "--services", "sls-bot"});
    ASSERT_EQ(r.rc, 0) << r.err << r.out;
    exec_id = LatestReport(c).run_id();
  }  // SIGTERM
  Coordinator c("hist-restart", {}, /*keep_state=*/true);
  CmdResult runs = c.Ctl({"runs", "-o", "json"});
  ASSERT_EQ(runs.rc, 0) << runs.err;
  auto list = ParseJson<v1::HistoryListRunsResponse>(runs.out);
  ASSERT_EQ(list.runs_size(), 2) << runs.out;
  EXPECT_EQ(list.runs(0).run_id(), exec_id);
  EXPECT_FALSE(list.runs(0).dry_run());
  EXPECT_EQ(list.runs(0).outcome(), v1::RUN_SUCCEEDED);
  EXPECT_GT(list.runs(0).max_downtime_us(), 0);
  EXPECT_EQ(list.runs(1).run_id(), dry_id);
  EXPECT_TRUE(list.runs(1).dry_run());
  CmdResult filtered = c.Ctl({"runs", "--since", "1d", "--service", "sls-bot", "--status", "failed", "-o", "json"});
  ASSERT_EQ(filtered.rc, 0) << filtered.err;
  EXPECT_EQ(ParseJson<v1::HistoryListRunsResponse>(filtered.out).runs_size(), 0) << filtered.out;
  CmdResult text = c.Ctl({"runs"});
  EXPECT_NE(text.out.find(exec_id), std::string::npos) << text.out;
  CmdResult trends = c.Ctl({"trends", "--last", "5", "-o", "json"});
  ASSERT_EQ(trends.rc, 0) << trends.err;
  auto t = ParseJson<v1::HistoryTrendsResponse>(trends.out);
  ASSERT_EQ(t.services_size(), 1) << trends.out;  // the dry run is left out; the executed one ran sls-bot
  EXPECT_EQ(t.services(0).service(), "sls-bot");
  EXPECT_EQ(t.services(0).runs(), 1u);
  EXPECT_EQ(t.services(0).failures(), 0u);
  EXPECT_GT(t.services(0).max_downtime_us(), 0);
  EXPECT_TRUE(std::filesystem::exists(c.state_dir() + "/state/history.sqlite"));
}

TEST_F(HistoryE2E, ReportWithoutIdIsTheLatestAfterRestart) {
  std::string id;
  {
    Coordinator c("hist-latest");
    ASSERT_EQ(c.Ctl({"run", "--services", "sls-api"}).rc, 0);
    ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
    id = LatestReport(c).run_id();
    ASSERT_FALSE(id.empty());
  }
  std::filesystem::remove_all(StateDir() + "/coord-hist-latest/state/runs");  // the history alone must answer
  Coordinator c("hist-latest", {}, /*keep_state=*/true);
  v1::Report latest = LatestReport(c);
  EXPECT_EQ(latest.run_id(), id);
  EXPECT_EQ(latest.services(0), "sls-bot");
}

TEST_F(HistoryE2E, TheAvailabilityBlockShowsTheWindowWhenTheApiWasDown) {
  Coordinator c("hist-availability");
  CmdResult r = c.Ctl({"run", "--execute", "--services", "sls-api", "--mode", "rolling"});
  ASSERT_EQ(r.rc, 0) << r.err << r.out;
  v1::Report report = LatestReport(c);
  ASSERT_TRUE(report.has_availability()) << "an executed run with health_check polls the API";
  const v1::Availability& a = report.availability();
  EXPECT_EQ(a.url(), "http://10.77.0.11:8080/health");
  EXPECT_GT(a.requests(), 5u);
  EXPECT_GT(a.failures(), 0u) << "sls-api on api restarted: the API stand-in was down for a while";
  ASSERT_GE(a.windows_size(), 1);
  const int64_t run_us = report.finished_at_unix_us() - report.started_at_unix_us();
  EXPECT_GT(a.longest().duration_us(), 0);
  EXPECT_LT(a.longest().duration_us(), run_us) << "the window is shorter than the run";
  EXPECT_GE(a.longest().start_unix_us(), report.started_at_unix_us());
  EXPECT_LE(a.longest().end_unix_us(), report.finished_at_unix_us());
  EXPECT_FALSE(a.longest().open_ended()) << "the API was back before the run ended";
  CmdResult md = c.Ctl({"report", "-o", "md"});
  EXPECT_NE(md.out.find("## What users saw"), std::string::npos);
  CmdResult html = c.Ctl({"report", "-o", "html"});
  EXPECT_NE(html.out.find("bar-unavailable"), std::string::npos) << "the window is on the timeline";
}

// A real Prometheus (Debian `prometheus`), its config and storage under the build dir, scraping
// the coordinator's /metrics (127.0.0.1) and the api host's agent (10.77.0.11:9465); stopped by PID.
class PrometheusProcess {
 public:
  PrometheusProcess(const std::string& dir, const std::string& coordinator, const std::string& agent, int port)
      : dir_(dir), port_(port) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir + "/data");
    std::ofstream(dir + "/prometheus.yml") << "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                                           << "scrape_configs:\n  - job_name: failover\n    static_configs:\n"
                                           << "      - targets: ['" << coordinator << "', '" << agent << "']\n";
    const std::vector<std::string> argv = {"prometheus", "--config.file=" + dir + "/prometheus.yml",
                                           "--storage.tsdb.path=" + dir + "/data",
                                           "--web.listen-address=127.0.0.1:" + std::to_string(port)};
    pid_ = fork();
    if (pid_ == 0) {
      int log = open((dir + "/prometheus.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      dup2(log, 1);
      dup2(log, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~PrometheusProcess() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    if (WaitChild(pid_, 10) == -2) kill(pid_, SIGKILL), WaitChild(pid_, 5);
  }
  // The HTTP API's answer to an instant query.
  std::string Query(const std::string& promql) const {
    return RunCmd({"curl", "-sS", "--max-time", "3", "-G", "--data-urlencode", "query=" + promql,
                   "http://127.0.0.1:" + std::to_string(port_) + "/api/v1/query"})
        .out;
  }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
  int port_;
  pid_t pid_ = -1;
};

TEST_F(HistoryE2E, MetricsAreScrapedByARealPrometheus) {
  Coordinator c("hist-metrics", {"--metrics-listen", "127.0.0.1:19464"});
  ASSERT_EQ(c.Ctl({"run", "--execute", "--services", "sls-bot"}).rc, 0);
  PrometheusProcess prom(StateDir() + "/prometheus-hist", "127.0.0.1:19464", "10.77.0.11:9465", 19090);
  std::string runs, jobs;
  const int64_t waited = WaitForMs(
      [&] {
        runs = prom.Query("failover_runs_total{outcome=\"succeeded\"}");
        jobs = prom.Query("failover_agent_jobs_total");
        return runs.find("\"value\":[") != std::string::npos && jobs.find("\"value\":[") != std::string::npos;
      },
      30000);
  ASSERT_GE(waited, 0) << "runs: " << runs << "\njobs: " << jobs << "\nlog: " << ReadFileOrEmpty(prom.dir() + "/prometheus.log");
  EXPECT_NE(runs.find("\"1\"]"), std::string::npos) << runs;  // one succeeded run
  EXPECT_NE(jobs.find("\"op\":\"stop\""), std::string::npos) << jobs;
  const std::string up = prom.Query("up");
  EXPECT_EQ(up.find("\"0\"]"), std::string::npos) << "every target is up: " << up;
  EXPECT_NE(prom.Query("failover_step_duration_seconds_count").find("\"value\":["), std::string::npos);
}

}  // namespace
}  // namespace failover::e2e
