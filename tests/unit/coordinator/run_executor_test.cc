#include "coordinator/run_executor.h"

#include "coordinator/fake_agent.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using failover::testing::FakeAgent;
using failover::testing::FakeClock;
using failover::testing::FakeProbes;

class RunExecutorTest : public ::testing::Test {
 protected:
  RunExecutorTest() {
    config_ = testing::SlsTestConfig();
    config_.defaults.job_timeout_ms = 1000;
    config_.defaults.lease_ms = 5000;
    for (const auto& h : config_.hosts) {
      agents_[h.name] = std::make_unique<FakeAgent>(h.name, &order_, &order_mu_);
      for (const auto& u : h.units) agents_[h.name]->systemd().AddUnit(u);
    }
  }

  v1::Report Run(RunOptions o) {
    auto plan = BuildPlan(config_, o);
    EXPECT_TRUE(plan.ok()) << plan.status();
    plan_ = *plan;
    std::map<std::string, AgentClient*> clients;
    for (auto& [h, a] : agents_) clients[h] = a.get();
    RunExecutor ex(config_, plan_, clients, &health_, &clock_, [this](v1::RunEvent e) { events_.push_back(e); },
                   [this](const v1::Report& r) { ++snapshots_; });
    return ex.Run("run-1");
  }

  RunOptions Execute() {
    RunOptions o;
    o.execute = true;
    return o;
  }

  Config config_;
  Plan plan_;
  std::map<std::string, std::unique_ptr<FakeAgent>> agents_;
  std::vector<std::string> order_;
  std::mutex order_mu_;
  FakeProbes health_;
  FakeClock clock_;
  std::vector<v1::RunEvent> events_;
  int snapshots_ = 0;
};

TEST_F(RunExecutorTest, RollingRestartsEveryUnitInOrderAndSucceeds) {
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(order_, (std::vector<std::string>{
                        "api:stop sls-bot.service", "api:start sls-bot.service", "cerebro:stop sls-bot.service",
                        "cerebro:start sls-bot.service", "cerebro:stop sls-cerebro.service",
                        "cerebro:start sls-cerebro.service", "api:stop sls-api.service", "api:start sls-api.service",
                        "panel:stop sls-api.service", "panel:start sls-api.service"}));
  EXPECT_EQ(r.initial_state_size(), 5);
  EXPECT_EQ(r.final_state_size(), 5);
  EXPECT_EQ(r.operations_size(), 10);
  for (const auto& s : r.steps()) EXPECT_EQ(s.status(), v1::STEP_SUCCEEDED);
  EXPECT_GT(snapshots_, 5) << "journal snapshot at least per step";
  EXPECT_FALSE(events_.empty());
}

TEST_F(RunExecutorTest, DryRunChangesNothing) {
  v1::Report r = Run(RunOptions{});
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED);
  EXPECT_TRUE(r.dry_run());
  EXPECT_TRUE(order_.empty());
  for (const auto& s : r.steps()) EXPECT_EQ(s.status(), v1::STEP_DRY_RUN);
  for (const auto& op : r.operations()) EXPECT_EQ(op.result(), "would-run");
}

TEST_F(RunExecutorTest, FailedGateAbortsBeforeTheNextServiceAndListsStepsNotRun) {
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_NE(r.summary().find("sls-cerebro-health"), std::string::npos) << r.summary();
  EXPECT_EQ(r.steps(2).status(), v1::STEP_FAILED);
  EXPECT_EQ(r.steps(3).status(), v1::STEP_NOT_RUN);
  EXPECT_EQ(r.steps(4).status(), v1::STEP_NOT_RUN);
  for (const auto& o : order_) EXPECT_EQ(o.find("sls-api"), std::string::npos) << "api must not be touched: " << o;
}

TEST_F(RunExecutorTest, ContinuePolicyRunsEveryStepButFailsTheRun) {
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kContinue;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED);
  EXPECT_EQ(r.steps(4).status(), v1::STEP_SUCCEEDED);
}

TEST_F(RunExecutorTest, UnreachableAgentRefusesAnExecutedRunBeforeAnyChange) {
  agents_["panel"]->unreachable = true;
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_TRUE(order_.empty());
  EXPECT_NE(r.summary().find("panel"), std::string::npos);
}

TEST_F(RunExecutorTest, StopAllThatFailsMidwayStartsAgainEveryUnitItStopped) {
  RunOptions o = Execute();
  o.mode = Mode::kStopAll;
  o.max_parallel = 3;
  agents_["api"]->systemd().FailNextStart("sls-api.service", "failed");
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  // The first start (sls-api) failed on api; recovery starts bot and cerebro which stop-all stopped,
  // and retries sls-api.
  for (const auto& h : config_.hosts) {
    for (const auto& u : h.units) {
      EXPECT_EQ(agents_[h.name]->systemd().GetUnitState(u)->active_state(), "active") << h.name << " " << u;
    }
  }
}

TEST_F(RunExecutorTest, RestorePolicyPutsEveryTouchedUnitBackToItsInitialState) {
  // sls-bot was stopped on cerebro before the run: the rolling restart starts it, then a later
  // step fails; restore stops it again. Units that ran before stay running.
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kRestore;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "inactive");
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-cerebro.service")->active_state(), "active");
  EXPECT_EQ(agents_["api"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
  EXPECT_EQ(order_.back(), "cerebro:stop sls-bot.service");
}

TEST_F(RunExecutorTest, AbortPolicyLeavesAUnitThatWasStoppedBeforeAsTheRunLeftIt) {
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
}

TEST_F(RunExecutorTest, FailureThresholdLetsOneOfTwoHostsFail) {
  for (auto& s : config_.services)
    if (s.name == "sls-api") {
      s.max_failed_hosts = 50;
      s.failure_percent = true;
    }
  agents_["panel"]->probes().Set("sls-api-health", false);
  RunOptions o = Execute();
  o.max_parallel = 2;
  v1::Report r = Run(o);
  EXPECT_EQ(r.steps(2).status(), v1::STEP_SUCCEEDED) << r.steps(2).reason();
  EXPECT_NE(r.steps(2).reason().find("panel"), std::string::npos);
}

TEST_F(RunExecutorTest, FailureThresholdCountsHostsAcrossWaves) {
  for (auto& s : config_.services)
    if (s.name == "sls-api") s.max_failed_hosts = 1;
  agents_["api"]->probes().Set("sls-api-health", false);
  agents_["panel"]->probes().Set("sls-api-health", false);
  v1::Report r = Run(Execute());  // max_parallel 1: api and panel are two waves
  EXPECT_EQ(r.steps(3).status(), v1::STEP_SUCCEEDED) << "1 of 2 hosts failed, 1 allowed";
  EXPECT_EQ(r.steps(4).status(), v1::STEP_FAILED) << "2 of 2 hosts failed over both waves";
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
}

TEST_F(RunExecutorTest, RestorePolicyKeepsWhatASuccessfulRunDid) {
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kRestore;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
}

TEST_F(RunExecutorTest, FinalHealthCheckFailureFailsTheRun) {
  config_.health_check.enabled = true;
  config_.health_check.url = "http://x/health";
  health_.Set("health_check", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED);
  EXPECT_NE(r.summary().find("final health check"), std::string::npos);
}

// The stop hook (coordinator SIGTERM, failoverctl abort): asked for while the first stop-all
// step runs, the run stops before the next step and starts again every unit it stopped.
TEST_F(RunExecutorTest, AStopRequestedMidRunEndsAbortedAtTheNextSafePointAndStartsWhatItStopped) {
  RunOptions o = Execute();
  o.mode = Mode::kStopAll;
  o.max_parallel = 3;
  auto plan = BuildPlan(config_, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::map<std::string, AgentClient*> clients;
  for (auto& [h, a] : agents_) clients[h] = a.get();
  RunExecutor* self = nullptr;
  RunExecutor ex(config_, *plan, clients, &health_, &clock_,
                 [&](v1::RunEvent e) {
                   if (e.message().rfind("step 1/", 0) == 0) self->RequestStop("stopped: the coordinator received SIGTERM");
                 },
                 nullptr);
  self = &ex;
  v1::Report r = ex.Run("run-stop");
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(r.summary().rfind("ABORTED: stopped: the coordinator received SIGTERM", 0), 0u) << r.summary();
  EXPECT_EQ(r.steps(0).status(), v1::STEP_SUCCEEDED) << "the step in flight finishes on its hosts";
  for (int i = 1; i < r.steps_size(); ++i) {
    EXPECT_EQ(r.steps(i).status(), v1::STEP_NOT_RUN);
    EXPECT_EQ(r.steps(i).reason(), "not run: stopped: the coordinator received SIGTERM");
  }
  for (const auto& h : config_.hosts)
    for (const auto& u : h.units)
      EXPECT_EQ(agents_[h.name]->systemd().GetUnitState(u)->active_state(), "active") << h.name << " " << u;
  EXPECT_EQ(order_.front().find(":stop "), order_.front().find(':')) << order_.front();
  EXPECT_NE(order_.back().find(":start "), std::string::npos) << "recovery started what the first step stopped";
}

TEST_F(RunExecutorTest, AStopRequestedBeforeTheFirstStepChangesNothing) {
  auto plan = BuildPlan(config_, Execute());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::map<std::string, AgentClient*> clients;
  for (auto& [h, a] : agents_) clients[h] = a.get();
  RunExecutor ex(config_, *plan, clients, &health_, &clock_, nullptr, nullptr);
  ex.RequestStop("aborted by unix socket at now");
  v1::Report r = ex.Run("run-stop-early");
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_NE(r.summary().find("aborted by unix socket"), std::string::npos) << r.summary();
  EXPECT_TRUE(order_.empty());
}

}  // namespace
}  // namespace failover::coordinator
