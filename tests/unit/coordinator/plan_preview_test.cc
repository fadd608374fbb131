#include "coordinator/plan_preview.h"

#include "coordinator/fake_agent_factory.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

class PlanPreviewTest : public ::testing::Test {
 protected:
  PlanPreviewTest() : config_(testing::SlsTestConfig()), agents_(config_) {}

  Plan Planned(RunOptions o = {}) {
    auto plan = BuildPlan(config_, o);
    EXPECT_TRUE(plan.ok()) << plan.status();
    return *plan;
  }

  Config config_;
  testing::FakeAgentFactory agents_;
};

TEST_F(PlanPreviewTest, ListsTheStepsAndEveryPlannedUnitsCurrentState) {
  v1::PlanResponse r = PreviewPlan(Planned(), agents_.clients());
  EXPECT_EQ(r.steps_size(), 5);
  EXPECT_EQ(r.mode(), "rolling");
  EXPECT_EQ(r.mode_kind(), v1::RUN_MODE_ROLLING);
  EXPECT_EQ(r.current_state_size(), 5) << "api: bot+api, cerebro: bot+cerebro, panel: api";
  EXPECT_TRUE(r.unreachable_hosts().empty());
  EXPECT_TRUE(agents_.order().empty()) << "a preview changes nothing";
}

TEST_F(PlanPreviewTest, NamesAnAgentThatDoesNotAnswerAndTheRunHoldingAHost) {
  agents_.agent("cerebro").unreachable = true;
  ASSERT_TRUE(agents_.agent("panel").lease().Acquire("run-7", std::chrono::seconds(60)).ok());
  v1::PlanResponse r = PreviewPlan(Planned(), agents_.clients());
  ASSERT_EQ(r.unreachable_hosts().count("cerebro"), 1u);
  EXPECT_NE(r.unreachable_hosts().at("cerebro").find("connection refused"), std::string::npos);
  EXPECT_EQ(r.held_by_run().at("panel"), "run-7");
  EXPECT_EQ(r.current_state_size(), 3);
}

TEST_F(PlanPreviewTest, HealthSweepProbesEveryHostOfEveryConfiguredServiceEvenOnesNotInServices) {
  v1::HealthResponse r = HealthSweep(config_, Planned(), agents_.clients(), nullptr);
  EXPECT_TRUE(r.healthy());
  std::map<std::string, int> per_probe;
  for (const auto& res : r.results()) ++per_probe[res.name()];
  EXPECT_EQ(per_probe["sls-bot-health"], 2) << "api and cerebro run sls-bot";
  EXPECT_EQ(per_probe["sls-cerebro-health"], 1);
  EXPECT_EQ(per_probe["sls-api-health"], 2) << "api and panel run sls-api";
  EXPECT_EQ(per_probe["sls-panel-health"], 1) << "sls-panel is not in the default order and is checked anyway";
  EXPECT_EQ(r.results(r.results_size() - 1).name(), "sls-panel-health") << "planned services first, then the rest";
}

TEST_F(PlanPreviewTest, HealthSweepIsUnhealthyWhenAProbeFailsOrAnAgentIsUnreachable) {
  agents_.agent("panel").probes().Set("sls-api-health", false);
  EXPECT_FALSE(HealthSweep(config_, Planned(), agents_.clients(), nullptr).healthy());
  agents_.agent("panel").probes().Set("sls-api-health", true);
  agents_.agent("cerebro").unreachable = true;
  v1::HealthResponse r = HealthSweep(config_, Planned(), agents_.clients(), nullptr);
  EXPECT_FALSE(r.healthy());
  bool named = false;
  for (const auto& res : r.results()) named = named || (res.host() == "cerebro" && !res.detail().empty());
  EXPECT_TRUE(named) << "the unreachable host is a result naming why";
}

TEST_F(PlanPreviewTest, HealthSweepRunsTheGlobalCheckOnTheCoordinator) {
  config_.health_check.enabled = true;
  config_.health_check.url = "http://127.0.0.1:9/health";
  failover::testing::FakeProbes coordinator_probes;
  coordinator_probes.Set("health_check", false);
  v1::HealthResponse r = HealthSweep(config_, Planned(), agents_.clients(), &coordinator_probes);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.results(r.results_size() - 1).name(), HealthCheckProbe(config_.health_check).name());
}

}  // namespace
}  // namespace failover::coordinator
