#include "coordinator/planner.h"

#include "coordinator/sls_test_config.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

Config ThreeHosts() { return testing::SlsTestConfig(); }

std::vector<std::string> Ids(const Plan& p) {
  std::vector<std::string> ids;
  for (const auto& s : p.steps) ids.push_back(s.id);
  return ids;
}

TEST(Planner, RollingRestartsEachServiceHostByHostInTheSeedOrder) {
  Config c = ThreeHosts();
  RunOptions o;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"01-restart-sls-bot-w1", "02-restart-sls-bot-w2",
                                                   "03-restart-sls-cerebro", "04-restart-sls-api-w1",
                                                   "05-restart-sls-api-w2"}));
  EXPECT_EQ(plan->steps[0].hosts, std::vector<std::string>{"api"});
  EXPECT_EQ(plan->steps[1].hosts, std::vector<std::string>{"cerebro"});
  EXPECT_EQ(plan->steps[4].hosts, std::vector<std::string>{"panel"});
  for (const auto& s : plan->steps) {
    EXPECT_EQ(s.operation, v1::OPERATION_RESTART);
    ASSERT_EQ(s.probes.size(), 1u);
    EXPECT_EQ(s.probes[0].name(), s.service + "-health");
  }
}

TEST(Planner, MaxParallelPutsHostsOfAServiceIntoOneWave) {
  Config c = ThreeHosts();
  RunOptions o;
  o.max_parallel = 2;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->steps.size(), 3u);
  EXPECT_EQ(plan->steps[0].hosts, (std::vector<std::string>{"api", "cerebro"}));
  EXPECT_EQ(plan->steps[0].id, "01-restart-sls-bot");
}

TEST(Planner, StopsEveryServiceInOrderThenStartsInReverseWhenModeIsStopAll) {
  Config c = ThreeHosts();
  RunOptions o;
  o.mode = Mode::kStopAll;
  o.max_parallel = 10;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"01-stop-sls-bot", "02-stop-sls-cerebro", "03-stop-sls-api",
                                                   "04-start-sls-api", "05-start-sls-cerebro", "06-start-sls-bot"}));
  EXPECT_TRUE(plan->steps[0].probes.empty()) << "stops are not gated";
  EXPECT_EQ(plan->steps[3].probes.size(), 1u) << "starts are gated";
}

TEST(Planner, ServicesOverrideReordersAndAddsThePanel) {
  Config c = ThreeHosts();
  RunOptions o;
  o.services = {"sls-api", "sls-panel"};
  o.max_parallel = 5;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"01-restart-sls-api", "02-restart-sls-panel"}));
  // Only the touched units are read for initial/final state.
  ASSERT_EQ(plan->host_units.size(), 2u);
  EXPECT_EQ(plan->host_units[0].first, "api");
  EXPECT_EQ(plan->host_units[1].second, (std::vector<std::string>{"sls-api.service", "sls-panel.service"}));
}

TEST(Planner, UnknownOrRepeatedServiceIsAnErrorNamingIt) {
  Config c = ThreeHosts();
  RunOptions o;
  o.services = {"sls-bot", "sls-nope"};
  auto plan = BuildPlan(c, o);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("sls-nope"), std::string::npos);
  o.services = {"sls-bot", "sls-bot"};
  EXPECT_FALSE(BuildPlan(c, o).ok());
}

TEST(Planner, ResolveOptionsRefusesUnknownModeAndPolicy) {
  Config c = ThreeHosts();
  EXPECT_FALSE(ResolveOptions(c, {}, "sideways", "", 0, false).ok());
  EXPECT_FALSE(ResolveOptions(c, {}, "", "pray", 0, false).ok());
  auto o = ResolveOptions(c, {}, "stop-all", "restore", 3, true);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->mode, Mode::kStopAll);
  EXPECT_EQ(o->failure_policy, FailurePolicy::kRestore);
  EXPECT_EQ(o->max_parallel, 3u);
}

}  // namespace
}  // namespace failover::coordinator
