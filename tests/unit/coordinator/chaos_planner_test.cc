#include "coordinator/chaos_planner.h"

#include <set>

#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

std::vector<FaultTarget> Candidates() {
  auto c = FaultCandidates(testing::SlsTestConfig(), {});
  EXPECT_TRUE(c.ok()) << c.status();
  return *c;
}

TEST(ChaosPlanner, TheSameSeedGivesTheSamePicks) {
  const auto a = PlanChaosPicks(Candidates(), 42, 20);
  const auto b = PlanChaosPicks(Candidates(), 42, 20);
  ASSERT_EQ(a.size(), 20u);
  EXPECT_TRUE(a == b);
}

TEST(ChaosPlanner, AnotherSeedGivesOtherPicks) {
  const auto a = PlanChaosPicks(Candidates(), 42, 20);
  const auto b = PlanChaosPicks(Candidates(), 43, 20);
  EXPECT_FALSE(a == b);
}

TEST(ChaosPlanner, PicksDoNotDependOnTheStandardLibrarysDistributions) {
  // The engine's output is fixed by the C++ standard (its 10000th value from the default seed);
  // the pick is our own modulo on it, so a seed gives the same picks with any standard library.
  std::mt19937_64 engine;
  engine.discard(9999);
  EXPECT_EQ(engine(), 9981545732273789042ull);
  std::mt19937_64 rng(1), again(1);
  EXPECT_EQ(UniformBelow(&again, 5), rng() % 5);
}

TEST(ChaosPlanner, UniformBelowStaysInRangeAndReachesEveryValue) {
  std::mt19937_64 rng(7);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = UniformBelow(&rng, 3);
    ASSERT_LT(v, 3u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(ChaosPlanner, CandidatesAreEveryHostOfEveryServiceInConfigOrder) {
  const auto c = Candidates();
  ASSERT_FALSE(c.empty());
  EXPECT_EQ(c[0].service, "sls-bot");
  EXPECT_EQ(c[0].unit, "sls-bot.service");
  EXPECT_EQ(c[0].host, "api");
  for (const auto& t : c) EXPECT_FALSE(t.host.empty());
}

TEST(ChaosPlanner, AnUnknownServiceIsRefusedByName) {
  auto c = FaultCandidates(testing::SlsTestConfig(), {"sls-nope"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sls-nope"), std::string::npos);
}

TEST(ChaosPlanner, InjectTargetNeedsAHostThatRunsTheUnit) {
  const Config c = testing::SlsTestConfig();
  auto ok = InjectTarget(c, "sls-bot.service", "api");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->service, "sls-bot");
  auto wrong_host = InjectTarget(c, "sls-bot.service", "nowhere");
  ASSERT_FALSE(wrong_host.ok());
  EXPECT_NE(wrong_host.status().message().find("nowhere"), std::string::npos);
  auto wrong_unit = InjectTarget(c, "sshd.service", "api");
  ASSERT_FALSE(wrong_unit.ok());
  EXPECT_NE(wrong_unit.status().message().find("sshd.service"), std::string::npos);
}

TEST(ChaosPlanner, BlastRadiusSkipsAnUnhealthyService) {
  ChaosWorld w;
  w.unhealthy["sls-bot"] = "probe sls-bot-health on api: HTTP 503";
  const std::string why = BlastRadiusSkip({"sls-bot", "sls-bot.service", "api"}, w, 1);
  EXPECT_NE(why.find("unhealthy"), std::string::npos) << why;
  EXPECT_NE(why.find("HTTP 503"), std::string::npos) << why;
}

TEST(ChaosPlanner, BlastRadiusSkipsWhenMaxDownUnitsAreAlreadyDown) {
  ChaosWorld w;
  w.down.insert({"cerebro", "sls-cerebro.service"});
  EXPECT_NE(BlastRadiusSkip({"sls-bot", "sls-bot.service", "api"}, w, 1).find("--max-down 1"), std::string::npos);
  EXPECT_EQ(BlastRadiusSkip({"sls-bot", "sls-bot.service", "api"}, w, 2), "");
}

TEST(ChaosPlanner, BlastRadiusAllowsAKillWhenNothingIsDownOrUnhealthy) {
  EXPECT_EQ(BlastRadiusSkip({"sls-bot", "sls-bot.service", "api"}, ChaosWorld{}, 1), "");
}

TEST(ChaosPlanner, AUnitAlreadyDownIsNotKilledAgain) {
  ChaosWorld w;
  w.down.insert({"api", "sls-bot.service"});
  EXPECT_NE(BlastRadiusSkip({"sls-bot", "sls-bot.service", "api"}, w, 5).find("already down"), std::string::npos);
}

}  // namespace
}  // namespace failover::coordinator
