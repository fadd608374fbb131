#include "coordinator/run_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/fake_agent_factory.h"
#include "coordinator/run_recovery.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("run_store_test-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

v1::Report Finished(const std::string& id, int64_t started, v1::RunOutcome outcome = v1::RUN_SUCCEEDED) {
  v1::Report r;
  r.set_run_id(id);
  r.set_started_at_unix_us(started);
  r.set_outcome(outcome);
  r.set_summary("summary of " + id);
  return r;
}

TEST(FileRunStore, AReportSurvivesANewStoreOverTheSameDir) {
  TempDir dir;
  FileRunStore(dir.path()).Save(Finished("run-a", 100));
  FileRunStore again(dir.path());
  auto r = again.Get("run-a");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->summary(), "summary of run-a");
  EXPECT_EQ(r->outcome(), v1::RUN_SUCCEEDED);
}

TEST(FileRunStore, LatestAfterARestartIsTheRunThatStartedLast) {
  TempDir dir;
  {
    FileRunStore store(dir.path());
    store.Save(Finished("run-b", 200));
    store.Save(Finished("run-a", 100));  // finished after run-b, but started before it
  }
  FileRunStore again(dir.path());
  auto latest = again.Get("");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->run_id(), "run-b");
}

TEST(FileRunStore, ARunStillRunningIsNotTheLatest) {
  FileRunStore store("");
  store.Save(Finished("done", 100));
  store.Save(Finished("going", 200, v1::RUN_RUNNING));
  EXPECT_EQ(store.Get("")->run_id(), "done");
  EXPECT_EQ(store.Get("going")->outcome(), v1::RUN_RUNNING);
}

TEST(FileRunStore, AnswersNotFoundNamingTheRun) {
  FileRunStore store("");
  EXPECT_EQ(store.Get("").status().message(), "no run yet");
  EXPECT_EQ(store.Get("nope").status().message(), "no report for run nope");
  EXPECT_EQ(store.Get("../etc").status().code(), absl::StatusCode::kNotFound);
}

TEST(FileRunStore, FindsRunsAnEarlierProcessLeftRunning) {
  TempDir dir;
  {
    FileRunStore store(dir.path());
    store.Save(Finished("crashed", 100, v1::RUN_RUNNING));
    store.Save(Finished("fine", 50));
  }
  FileRunStore again(dir.path());
  again.Save(Finished("new-one", 300, v1::RUN_RUNNING));  // this process's own run is not interrupted
  auto found = again.Interrupted();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].run_id(), "crashed");
}

v1::Report Running(const std::string& id) {
  v1::Report r = Finished(id, 100, v1::RUN_RUNNING);
  r.set_summary("");
  for (const char* step : {"01-restart-a", "02-restart-b"}) {
    v1::StepRecord* s = r.add_steps();
    s->set_id(step);
    s->set_status(v1::STEP_NOT_RUN);
  }
  v1::UnitState* st = r.add_initial_state();
  st->set_host("api");
  st->set_unit("a.service");
  return r;
}

std::vector<std::string> Lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(FileRunStore, JournalsARunningRunByAppendingOnlyWhatChanged) {
  TempDir dir;
  FileRunStore store(dir.path());
  v1::Report r = Running("run-j");
  store.Save(r);
  r.mutable_steps(0)->set_status(v1::STEP_SUCCEEDED);
  r.add_operations()->set_unit("a.service");
  store.Save(r);
  const auto lines = Lines(dir.path() + "/runs/run-j.journal");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("01-restart-a"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("02-restart-b"), std::string::npos) << "an unchanged step is not written again: " << lines[1];
  EXPECT_EQ(lines[1].find("initialState"), std::string::npos) << lines[1];
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/runs/run-j.json"));

  FileRunStore again(dir.path());  // as after a crash
  auto found = again.Interrupted();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].steps(0).status(), v1::STEP_SUCCEEDED);
  EXPECT_EQ(found[0].steps(1).status(), v1::STEP_NOT_RUN);
  EXPECT_EQ(found[0].operations_size(), 1);
  EXPECT_EQ(found[0].initial_state_size(), 1);
}

TEST(FileRunStore, ATornLastJournalLineIsIgnoredAndTheRunStillRecovers) {
  TempDir dir;
  {
    FileRunStore store(dir.path());
    v1::Report r = Running("run-t");
    store.Save(r);
    r.mutable_steps(0)->set_status(v1::STEP_RUNNING);
    store.Save(r);
  }
  std::ofstream(dir.path() + "/runs/run-t.journal", std::ios::app) << "{\"steps\":[{\"id\":\"01-rest";  // crash mid-write
  FileRunStore again(dir.path());
  auto found = again.Interrupted();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].steps(0).status(), v1::STEP_RUNNING);
  MarkInterrupted(&found[0]);
  EXPECT_EQ(found[0].steps(0).status(), v1::STEP_FAILED);
}

TEST(FileRunStore, TheFinalReportReplacesTheJournal) {
  TempDir dir;
  {
    FileRunStore store(dir.path());
    v1::Report r = Running("run-f");
    store.Save(r);
    r.set_outcome(v1::RUN_SUCCEEDED);
    r.set_summary("done");
    store.Save(r);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/runs/run-f.journal"));
  FileRunStore again(dir.path());
  EXPECT_TRUE(again.Interrupted().empty());
  EXPECT_EQ(again.Get("run-f")->summary(), "done");
}

TEST(FileRunStore, KeepsTheConfigARunWasRequestedWith) {
  TempDir dir;
  FileRunStore(dir.path()).SaveRequestConfig("run-a", "hosts: {}\n");
  EXPECT_EQ(FileRunStore(dir.path()).RequestConfig("run-a"), "hosts: {}\n");
  EXPECT_EQ(FileRunStore(dir.path()).RequestConfig("run-b"), "");
}

TEST(HostClaims, RefusesASecondRunOnABusyHostNamingTheRunThatHoldsIt) {
  HostClaims claims;
  ASSERT_TRUE(claims.Claim({"api", "panel"}, "run-1").ok());
  absl::Status s = claims.Claim({"cerebro", "panel"}, "run-2");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "host panel is already in run run-1; refusing to start a second run on it");
  EXPECT_TRUE(claims.Claim({"cerebro"}, "run-3").ok()) << "a refused claim takes no host";
  claims.Release("run-1");
  EXPECT_TRUE(claims.Claim({"api", "panel"}, "run-4").ok());
}

class RunRecoveryTest : public ::testing::Test {
 protected:
  RunRecoveryTest() : config_(testing::SlsTestConfig()), agents_(config_) { config_.defaults.lease_ms = 60000; }

  // A journal snapshot of run-x, in its second step, that touched api's sls-bot.
  v1::Report Snapshot() {
    v1::Report r = Finished("run-x", 100, v1::RUN_RUNNING);
    auto* st = r.add_initial_state();
    st->set_host("api");
    st->set_unit("sls-bot.service");
    st->set_active_state("active");
    auto* s1 = r.add_steps();
    s1->set_id("01-restart-sls-bot-w1");
    s1->set_status(v1::STEP_SUCCEEDED);
    auto* s2 = r.add_steps();
    s2->set_id("02-restart-sls-bot-w2");
    s2->set_status(v1::STEP_RUNNING);
    r.add_steps()->set_status(v1::STEP_NOT_RUN);
    return r;
  }

  int Recover() {
    RecoveryDeps deps;
    deps.runs = store_.get();
    deps.agents = &agents_;
    deps.clock = &clock_;
    deps.config_for = [this](const std::string& yaml, const std::string&) -> absl::StatusOr<Config> {
      seen_yaml_ = yaml;
      return config_;
    };
    deps.write_report = [](const Config&, v1::Report*) -> absl::StatusOr<std::string> { return "report.log"; };
    return RecoverInterruptedRuns(deps);
  }

  TempDir dir_;
  Config config_;
  testing::FakeAgentFactory agents_;
  failover::testing::FakeClock clock_;
  std::unique_ptr<FileRunStore> store_;
  std::string seen_yaml_ = "unset";
};

TEST_F(RunRecoveryTest, MarksTheRunInterruptedNamingTheStepItStoppedIn) {
  {
    FileRunStore crashed(dir_.path());
    crashed.Save(Snapshot());
    crashed.SaveRequestConfig("run-x", "from: request\n");
  }
  store_ = std::make_unique<FileRunStore>(dir_.path());  // the restarted coordinator's store
  EXPECT_EQ(Recover(), 1);
  auto r = store_->Get("run-x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->outcome(), v1::RUN_INTERRUPTED);
  EXPECT_NE(r->summary().find("(in step 02-restart-sls-bot-w2)"), std::string::npos) << r->summary();
  EXPECT_EQ(r->steps(1).status(), v1::STEP_FAILED);
  EXPECT_EQ(r->steps(2).reason(), "not run: the coordinator stopped before this step");
  EXPECT_EQ(r->final_state_size(), 1) << "the agent was asked how the unit is now";
  EXPECT_EQ(seen_yaml_, "from: request\n");
  EXPECT_EQ(store_->Get("")->run_id(), "run-x");
  EXPECT_TRUE(store_->Interrupted().empty());
  EXPECT_EQ(FileRunStore(dir_.path()).Get("run-x")->outcome(), v1::RUN_INTERRUPTED) << "journaled";
}

TEST_F(RunRecoveryTest, WaitsOnTheClockWhileAnAgentStillHoldsTheRun) {
  ASSERT_TRUE(agents_.agent("api").lease().Acquire("run-x", std::chrono::milliseconds(60000)).ok());
  {
    FileRunStore crashed(dir_.path());
    crashed.Save(Snapshot());
  }
  store_ = std::make_unique<FileRunStore>(dir_.path());  // the restarted coordinator's store
  const int64_t before = clock_.NowUnixUs();
  EXPECT_EQ(Recover(), 1);
  EXPECT_EQ(clock_.NowUnixUs() - before, 60000 * 1000) << "two half-leases on the injected clock";
}

}  // namespace
}  // namespace failover::coordinator
