// The coordinator service with a run history: runs are recorded as they end, listed and trended
// over the wire, and a corrupt or locked history never costs a run or its report files.
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/coordinator_service.h"
#include "coordinator/fake_agent_factory.h"
#include "coordinator/history_store.h"
#include "coordinator/sls_test_config.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;

class CoordinatorHistoryTest : public ::testing::Test {
 protected:
  CoordinatorHistoryTest()
      : config_(Config(ShortTimeouts())),
        agents_(*config_.Get()),
        dir_((std::filesystem::temp_directory_path() / ("coordinator_history_test-" + std::to_string(getpid()))).string()),
        history_(Fresh(dir_) + "/history.sqlite", /*busy_timeout_ms=*/100) {
    CoordinatorDeps deps;
    deps.config = &config_;
    deps.agents = &agents_;
    deps.runs = &runs_;
    deps.claims = &claims_;
    deps.clock = &clock_;
    deps.history = &history_;
    deps.on_run_end = [this](const v1::Report&) { ++ended_; };
    service_ = std::make_unique<CoordinatorService>(CoordinatorOptions{dir_ + "/reports", {}}, deps);
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    stub_ = v1::Coordinator::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~CoordinatorHistoryTest() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }
  static Config ShortTimeouts() {
    Config c = testing::SlsTestConfig();
    c.defaults.job_timeout_ms = 1000;
    c.defaults.lease_ms = 5000;
    return c;
  }
  static std::string Fresh(const std::string& dir) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
  }

  v1::Report DryRun(const std::string& service) {
    v1::RunRequest req;
    req.add_services(service);
    grpc::ClientContext ctx;
    auto reader = stub_->Run(&ctx, req);
    v1::RunEvent e, last;
    while (reader->Read(&e)) last = e;
    EXPECT_TRUE(reader->Finish().ok());
    return last.report();
  }
  grpc::Status ListRuns(v1::HistoryListRunsResponse* resp, const std::string& service = "") {
    grpc::ClientContext ctx;
    v1::HistoryListRunsRequest req;
    req.set_service(service);
    return stub_->ListRuns(&ctx, req, resp);
  }

  ConfigHolder config_;
  testing::FakeAgentFactory agents_;
  FileRunStore runs_{""};
  HostClaims claims_;
  failover::testing::FakeClock clock_;
  std::string dir_;
  HistoryStore history_;
  int ended_ = 0;
  std::unique_ptr<CoordinatorService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(CoordinatorHistoryTest, EveryEndedRunIsListedNewestFirstAndTheLatestReportComesFromTheHistory) {
  const v1::Report first = DryRun("sls-api");
  clock_.Advance(std::chrono::seconds(5));
  const v1::Report second = DryRun("sls-bot");
  EXPECT_EQ(ended_, 2);
  v1::HistoryListRunsResponse resp;
  ASSERT_TRUE(ListRuns(&resp).ok());
  ASSERT_EQ(resp.runs_size(), 2);
  EXPECT_EQ(resp.runs(0).run_id(), second.run_id());
  EXPECT_EQ(resp.runs(1).run_id(), first.run_id());
  EXPECT_TRUE(resp.runs(0).dry_run());
  v1::HistoryListRunsResponse bot;
  ASSERT_TRUE(ListRuns(&bot, "sls-bot").ok());
  ASSERT_EQ(bot.runs_size(), 1);
  grpc::ClientContext ctx;
  v1::Report latest;
  ASSERT_TRUE(stub_->GetReport(&ctx, v1::GetReportRequest(), &latest).ok());
  EXPECT_EQ(latest.run_id(), second.run_id());
}

TEST_F(CoordinatorHistoryTest, ACorruptHistoryNeverCostsTheRunOrItsReportFiles) {
  std::ofstream(history_.path()) << std::string(8192, 'x');
  const v1::Report report = DryRun("sls-api");
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED);
  ASSERT_EQ(report.files_size(), 5);
  for (const auto& f : report.files()) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  ASSERT_GE(report.errors_size(), 1);
  EXPECT_THAT(report.errors(report.errors_size() - 1), HasSubstr("NOT recorded in the history"));
  EXPECT_THAT(report.errors(report.errors_size() - 1), HasSubstr("mv " + history_.path()));
  v1::HistoryListRunsResponse resp;
  grpc::Status s = ListRuns(&resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(s.error_message(), HasSubstr(history_.path()));
}

TEST_F(CoordinatorHistoryTest, ALockedHistoryNeverCostsTheRunOrItsReportFiles) {
  DryRun("sls-api");  // creates the file
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(history_.path().c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const v1::Report report = DryRun("sls-bot");
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED);
  ASSERT_EQ(report.files_size(), 5);
  for (const auto& f : report.files()) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  EXPECT_THAT(report.errors(report.errors_size() - 1), HasSubstr("locked by another process"));
}

TEST_F(CoordinatorHistoryTest, TrendsAnswerOverTheWire) {
  DryRun("sls-api");
  grpc::ClientContext ctx;
  v1::HistoryTrendsRequest req;
  v1::HistoryTrendsResponse resp;
  ASSERT_TRUE(stub_->Trends(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.last(), 20u);
  EXPECT_EQ(resp.services_size(), 0) << "dry runs are left out of trends";
}

}  // namespace
}  // namespace failover::coordinator

namespace failover::coordinator {
namespace {

TEST(CoordinatorHistoryRecovery, ARunInterruptedByACrashIsRecordedWhenTheNextCoordinatorRecoversIt) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("coordinator_history_recovery-" + std::to_string(getpid()))).string();
  std::filesystem::remove_all(dir);
  {
    FileRunStore crashed(dir);
    v1::Report running;
    running.set_run_id("20270115T080000Z-dead");
    running.set_outcome(v1::RUN_RUNNING);
    running.set_dry_run(false);
    running.add_services("sls-bot");
    running.set_started_at_unix_us(1'800'000'000'000'000);
    crashed.Save(running);
  }
  Config config = testing::SlsTestConfig();
  config.defaults.lease_ms = 1000;
  ConfigHolder holder(config);
  testing::FakeAgentFactory agents(*holder.Get());
  FileRunStore runs(dir);
  HostClaims claims;
  failover::testing::FakeClock clock;
  HistoryStore history(dir + "/history.sqlite");
  CoordinatorDeps deps;
  deps.config = &holder;
  deps.agents = &agents;
  deps.runs = &runs;
  deps.claims = &claims;
  deps.clock = &clock;
  deps.history = &history;
  CoordinatorService service(CoordinatorOptions{dir + "/reports", {}}, deps);
  service.RecoverInterruptedRuns();
  auto listed = history.List({});
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].run_id, "20270115T080000Z-dead");
  EXPECT_EQ((*listed)[0].outcome, v1::RUN_INTERRUPTED);
  EXPECT_EQ(runs.Get("20270115T080000Z-dead")->outcome(), v1::RUN_INTERRUPTED) << "the journal has it too";
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace failover::coordinator
