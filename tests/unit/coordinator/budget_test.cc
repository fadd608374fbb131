#include "coordinator/budget.h"

#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

ServiceConfig Budgeted(uint32_t min_healthy, bool percent = false) {
  ServiceConfig svc;
  svc.name = "sls-api";
  svc.unit = "sls-api.service";
  svc.min_healthy = min_healthy;
  svc.min_healthy_percent = percent;
  return svc;
}

TEST(Budget, APercentIsRoundedUpToWholeInstances) {
  EXPECT_EQ(MinHealthy(Budgeted(50, true), 2), 1u);
  EXPECT_EQ(MinHealthy(Budgeted(50, true), 3), 2u);
  EXPECT_EQ(MinHealthy(Budgeted(1, true), 10), 1u);
  EXPECT_EQ(MinHealthy(Budgeted(0, true), 10), 0u);
  EXPECT_EQ(MinHealthy(Budgeted(2), 5), 2u);
}

TEST(Budget, TheWidestWaveLeavesMinHealthyInstancesUp) {
  EXPECT_EQ(*MaxWaveForBudget(Budgeted(1), 2, Mode::kRolling), 1u);
  EXPECT_EQ(*MaxWaveForBudget(Budgeted(2), 5, Mode::kRolling), 3u);
  EXPECT_EQ(*MaxWaveForBudget(Budgeted(0), 5, Mode::kStopAll), 5u) << "no budget, no limit";
}

TEST(Budget, ABudgetNoWaveCanKeepIsRefusedNamingTheService) {
  auto all = MaxWaveForBudget(Budgeted(2), 2, Mode::kRolling);
  ASSERT_EQ(all.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(all.status().message().find("sls-api"), std::string::npos);
  auto stop_all = MaxWaveForBudget(Budgeted(1), 2, Mode::kStopAll);
  ASSERT_EQ(stop_all.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(stop_all.status().message().find("stop-all"), std::string::npos);
}

TEST(Budget, WaitsAsLongAsTheLongestGateDeadlineUnlessConfigured) {
  ServiceConfig svc = Budgeted(1);
  EXPECT_EQ(BudgetWaitMs(svc), 0u);
  v1::ProbeSpec a, b;
  a.set_deadline_ms(5000);
  b.set_deadline_ms(10000);
  svc.probes = {a, b};
  EXPECT_EQ(BudgetWaitMs(svc), 10000u);
  svc.min_healthy_wait_ms = 1500;
  EXPECT_EQ(BudgetWaitMs(svc), 1500u);
}

TEST(Budget, AWaveIsRefusedWhenTooFewOtherInstancesAreHealthyNamingThem) {
  const ServiceConfig svc = Budgeted(1);
  BudgetVerdict ok = CheckBudget(svc, {"api"}, {{"panel", true}}, 2);
  EXPECT_TRUE(ok.ok) << ok.message;
  BudgetVerdict bad = CheckBudget(svc, {"api"}, {{"panel", false}}, 2);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.unhealthy, std::vector<std::string>{"panel"});
  EXPECT_NE(bad.message.find("panel"), std::string::npos) << bad.message;
  EXPECT_NE(bad.message.find("sls-api"), std::string::npos) << bad.message;
  BudgetVerdict self = CheckBudget(svc, {"api"}, {{"api", true}}, 2);
  EXPECT_FALSE(self.ok) << "the wave's own instance does not count: it is about to go down";
}

}  // namespace
}  // namespace failover::coordinator
