// The coordinator service through a real in-process gRPC server and the generated stub, with
// FakeAgents (the real agent step runner over a fake systemd) behind its agent-client factory.
#include "coordinator/coordinator_service.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "coordinator/fake_agent_factory.h"
#include "coordinator/sls_test_config.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

class CoordinatorServiceTest : public ::testing::Test {
 protected:
  CoordinatorServiceTest()
      : config_(Config(WithShortTimeouts())), agents_(*config_.Get()),
        reports_((std::filesystem::temp_directory_path() / ("coordinator_service_test-" + std::to_string(getpid())))
                     .string()),
        service_({reports_, {}}, {&config_, &agents_, &runs_, &claims_, &clock_}) {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    stub_ = v1::Coordinator::NewStub(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~CoordinatorServiceTest() override {
    server_->Shutdown();
    std::filesystem::remove_all(reports_);
  }

  static Config WithShortTimeouts() {
    Config c = testing::SlsTestConfig();
    c.defaults.job_timeout_ms = 1000;
    c.defaults.lease_ms = 5000;
    return c;
  }

  struct RunResult {
    grpc::Status status;
    std::vector<v1::RunEvent> events;
  };
  RunResult Run(const v1::RunRequest& req) {
    grpc::ClientContext ctx;
    auto reader = stub_->Run(&ctx, req);
    RunResult r;
    v1::RunEvent e;
    while (reader->Read(&e)) r.events.push_back(e);
    r.status = reader->Finish();
    return r;
  }
  static v1::RunRequest Execute() {
    v1::RunRequest req;
    req.set_execute(true);
    return req;
  }

  ConfigHolder config_;
  testing::FakeAgentFactory agents_;
  FileRunStore runs_{""};
  HostClaims claims_;
  failover::testing::FakeClock clock_;
  std::string reports_;
  CoordinatorService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Coordinator::Stub> stub_;
};

TEST_F(CoordinatorServiceTest, PlanListsTheStepsAndEveryAgentsStateAndChangesNothing) {
  grpc::ClientContext ctx;
  v1::PlanResponse resp;
  ASSERT_TRUE(stub_->Plan(&ctx, v1::RunRequest(), &resp).ok());
  EXPECT_EQ(resp.steps_size(), 5);
  EXPECT_EQ(resp.steps(0).id(), "01-restart-sls-bot-w1");
  EXPECT_EQ(resp.current_state_size(), 5);
  EXPECT_EQ(resp.mode_kind(), v1::RUN_MODE_ROLLING);
  EXPECT_TRUE(agents_.order().empty());
}

TEST_F(CoordinatorServiceTest, ADryRunStreamsEventsEndingWithTheReportThatGetReportReturns) {
  RunResult r = Run(v1::RunRequest());
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  ASSERT_FALSE(r.events.empty());
  const v1::Report& report = r.events.back().report();
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED) << report.summary();
  EXPECT_TRUE(report.dry_run());
  EXPECT_EQ(report.mode_kind(), v1::RUN_MODE_ROLLING);
  EXPECT_EQ(report.failure_policy_kind(), v1::FAILURE_POLICY_ABORT);
  ASSERT_EQ(report.files_size(), 5) << "text, JSON, Markdown, JUnit and HTML report written";
  for (const auto& f : report.files()) EXPECT_TRUE(std::filesystem::exists(f)) << f;
  for (const auto& e : r.events) EXPECT_NE(e.level(), v1::SEVERITY_UNSPECIFIED) << e.message();
  EXPECT_TRUE(agents_.order().empty());
  grpc::ClientContext ctx;
  v1::Report latest;
  ASSERT_TRUE(stub_->GetReport(&ctx, v1::GetReportRequest(), &latest).ok());
  EXPECT_EQ(latest.run_id(), report.run_id());
}

TEST_F(CoordinatorServiceTest, AnExecutedRunRestartsTheUnitsThroughTheFactorysAgents) {
  RunResult r = Run(Execute());
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.events.back().report().outcome(), v1::RUN_SUCCEEDED) << r.events.back().report().summary();
  EXPECT_EQ(agents_.order().size(), 10u);
  EXPECT_TRUE(claims_.Claim({"api", "cerebro", "panel"}, "next").ok()) << "the run released its hosts";
}

TEST_F(CoordinatorServiceTest, RefusesARunOnAHostAnotherRunHoldsBeforeAnythingChanges) {
  ASSERT_TRUE(claims_.Claim({"panel"}, "run-other").ok());
  RunResult r = Run(Execute());
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(r.status.error_message(), "host panel is already in run run-other; refusing to start a second run on it");
  EXPECT_TRUE(agents_.order().empty());
}

TEST_F(CoordinatorServiceTest, PlansWithTheModeTheRequestSendsAsAnEnum) {
  v1::RunRequest req;
  req.set_mode_kind(v1::RUN_MODE_STOP_ALL);
  grpc::ClientContext ctx;
  v1::PlanResponse resp;
  ASSERT_TRUE(stub_->Plan(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.mode(), "stop-all");
  EXPECT_EQ(resp.mode_kind(), v1::RUN_MODE_STOP_ALL);
  EXPECT_EQ(resp.steps(0).operation(), v1::OPERATION_STOP);
}

TEST_F(CoordinatorServiceTest, RefusesAnUnknownServiceBeforeAskingAnyAgent) {
  v1::RunRequest req;
  req.add_services("sls-nope");
  grpc::ClientContext ctx;
  v1::PlanResponse resp;
  grpc::Status s = stub_->Plan(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("unknown service \"sls-nope\""), std::string::npos) << s.error_message();
  EXPECT_EQ(agents_.created(), 0);
}

TEST_F(CoordinatorServiceTest, AConfigSentWithTheRequestIsParsedForThatRequest) {
  v1::RunRequest req;
  req.set_config_path("mine.yaml");
  req.set_config_yaml(R"(hosts:
  api: {agent: "10.0.0.1:7700", units: [sls-bot.service]}
services:
  - name: sls-bot
order: [sls-bot]
)");
  grpc::ClientContext ctx;
  v1::PlanResponse resp;
  ASSERT_TRUE(stub_->Plan(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.steps_size(), 1);
  req.set_config_yaml("hosts: [");
  grpc::ClientContext bad_ctx;
  grpc::Status s = stub_->Plan(&bad_ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message().rfind("mine.yaml:", 0), 0u) << s.error_message();
}

TEST_F(CoordinatorServiceTest, HealthIsUnhealthyWhenAServiceProbeFailsOnOneHost) {
  grpc::ClientContext ctx;
  v1::HealthResponse resp;
  ASSERT_TRUE(stub_->Health(&ctx, v1::RunRequest(), &resp).ok());
  EXPECT_TRUE(resp.healthy());
  agents_.agent("cerebro").probes().Set("sls-bot-health", false);
  grpc::ClientContext again;
  ASSERT_TRUE(stub_->Health(&again, v1::RunRequest(), &resp).ok());
  EXPECT_FALSE(resp.healthy());
}

TEST_F(CoordinatorServiceTest, GetReportAnswersNotFoundBeforeAnyRun) {
  grpc::ClientContext ctx;
  v1::Report r;
  grpc::Status s = stub_->GetReport(&ctx, v1::GetReportRequest(), &r);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "no run yet");
}

TEST_F(CoordinatorServiceTest, ADrainingCoordinatorRefusesNewRunsBeforeAnythingChanges) {
  service_.Drain("stopped: the coordinator received SIGTERM");
  EXPECT_TRUE(service_.WaitIdle(std::chrono::steady_clock::now() + std::chrono::seconds(1)));
  RunResult r = Run(Execute());
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_NE(r.status.error_message().find("the coordinator is stopping"), std::string::npos) << r.status.error_message();
  EXPECT_TRUE(agents_.order().empty());
}

TEST_F(CoordinatorServiceTest, AbortOfARunNotInProgressAnswersNotFoundNamingIt) {
  grpc::ClientContext ctx;
  v1::AbortRequest req;
  req.set_run_id("20261129T000000Z-beef");
  v1::AbortResponse resp;
  grpc::Status s = stub_->Abort(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(s.error_message(), "run 20261129T000000Z-beef is not in progress in this coordinator");
}

TEST_F(CoordinatorServiceTest, AReportsDirThatIsAFileKeepsTheOutcomeListsNoFilesAndTheStoreStillAnswers) {
  std::ofstream(reports_) << "not a directory";
  RunResult r = Run(v1::RunRequest());
  ASSERT_TRUE(r.status.ok()) << r.status.error_message();
  const v1::Report& report = r.events.back().report();
  EXPECT_EQ(report.outcome(), v1::RUN_SUCCEEDED) << report.summary();
  EXPECT_EQ(report.files_size(), 0) << "no path of a file that does not exist";
  EXPECT_NE(report.files_error().find("cannot create report directory " + reports_), std::string::npos)
      << report.files_error();
  EXPECT_EQ(r.events.back().level(), v1::SEVERITY_ERROR);
  grpc::ClientContext ctx;
  v1::GetReportRequest req;
  req.set_run_id(report.run_id());
  v1::Report stored;
  ASSERT_TRUE(stub_->GetReport(&ctx, req, &stored).ok());
  EXPECT_EQ(stored.files_error(), report.files_error());
}

}  // namespace
}  // namespace failover::coordinator
