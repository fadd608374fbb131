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


TEST(Planner, EachStepCarriesItsTimeoutsLeaseDryRunAndCallDeadline) {
  Config c = ThreeHosts();
  c.defaults.job_timeout_ms = 1000;
  c.defaults.lease_ms = 7000;
  c.defaults.allow_reset_failed = true;
  c.services[0].probes[0].set_timeout_ms(200);
  c.services[0].probes[0].set_deadline_ms(3000);
  RunOptions o;
  o.execute = true;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PlannedStep& s = plan->steps[0];
  EXPECT_FALSE(s.dry_run);
  EXPECT_EQ(s.job_timeout_ms, 1000u);
  EXPECT_EQ(s.lease_ms, 7000u);
  EXPECT_TRUE(s.allow_reset_failed);
  // Two jobs, the probe's deadline and one more attempt, and 5 s of network slack; then the
  // settle window (default 1000 ms) and the probe once more at its end.
  EXPECT_EQ(s.rpc_deadline, std::chrono::milliseconds(2 * 1000 + 3000 + 200 + 5000 + 1000 + 3000 + 200));
  v1::ExecuteRequest req = ToExecuteRequest(s, "run-1");
  EXPECT_EQ(req.run_id(), "run-1");
  EXPECT_EQ(req.step_id(), s.id);
  EXPECT_EQ(req.lease_ms(), 7000u);
  EXPECT_FALSE(req.dry_run());
  EXPECT_EQ(req.probes_size(), 1);
  EXPECT_TRUE(BuildPlan(c, RunOptions{})->steps[0].dry_run) << "without execute every step is a dry run";
}

std::map<std::string, v1::UnitState> States(std::initializer_list<std::pair<const char*, const char*>> units) {
  std::map<std::string, v1::UnitState> out;
  for (const auto& [unit, active] : units) {
    out[unit].set_unit(unit);
    out[unit].set_active_state(active);
  }
  return out;
}

std::vector<v1::UnitState> Now(std::initializer_list<std::pair<const char*, const char*>> units) {
  std::vector<v1::UnitState> out;
  for (const auto& [unit, st] : States(units)) out.push_back(st);
  return out;
}

TEST(PlanRecovery, StartsWhatRanBeforeTheRunAndIsDownNowLastStoppedFirst) {
  Config c = ThreeHosts();
  RunOptions o;
  o.execute = true;
  auto steps = PlanRecovery(c, o, "api", States({{"sls-api.service", "active"}, {"sls-bot.service", "active"}}),
                            Now({{"sls-api.service", "inactive"}, {"sls-bot.service", "failed"}}), true);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].id, "recover-start-sls-bot.service");
  EXPECT_EQ(steps[1].id, "recover-start-sls-api.service");
  EXPECT_EQ(steps[0].operation, v1::OPERATION_START);
  EXPECT_EQ(steps[0].hosts, std::vector<std::string>{"api"});
  EXPECT_FALSE(steps[0].dry_run);
  EXPECT_FALSE(steps[0].restore_stopped);
  EXPECT_EQ(steps[0].reason, "recovery: sls-bot.service was active before the run and is failed now; starting it");
}

TEST(PlanRecovery, StopsWhatWasStoppedBeforeOnlyForRestoreAfterAFailure) {
  Config c = ThreeHosts();
  RunOptions o;
  o.execute = true;
  o.failure_policy = FailurePolicy::kRestore;
  auto initial = States({{"sls-bot.service", "inactive"}});
  auto now = Now({{"sls-bot.service", "active"}});
  auto steps = PlanRecovery(c, o, "api", initial, now, /*run_failed=*/true);
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].operation, v1::OPERATION_STOP);
  EXPECT_TRUE(steps[0].restore_stopped);
  EXPECT_TRUE(PlanRecovery(c, o, "api", initial, now, /*run_failed=*/false).empty()) << "a good run keeps what it did";
  o.failure_policy = FailurePolicy::kAbort;
  EXPECT_TRUE(PlanRecovery(c, o, "api", initial, now, true).empty());
}

TEST(Planner, ARequestsEnumsWinOverItsWordsAndWordsAloneStillWork) {
  Config c = ThreeHosts();
  v1::RunRequest req;
  req.set_mode("rolling");
  req.set_mode_kind(v1::RUN_MODE_STOP_ALL);
  req.set_failure_policy_kind(v1::FAILURE_POLICY_CONTINUE);
  auto o = ResolveOptions(c, req);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->mode, Mode::kStopAll);
  EXPECT_EQ(o->failure_policy, FailurePolicy::kContinue);
  v1::RunRequest words;
  words.set_failure_policy("restore");
  EXPECT_EQ(ResolveOptions(c, words)->failure_policy, FailurePolicy::kRestore);
  words.set_mode("sideways");
  EXPECT_EQ(ResolveOptions(c, words).status().message(),
            "--mode: mode must be \"rolling\" or \"stop-all\", got \"sideways\"");
}

TEST(Planner, HostsRunningListsTheHostsOfAUnitInConfigOrder) {
  EXPECT_EQ(HostsRunning(ThreeHosts(), "sls-api.service"), (std::vector<std::string>{"api", "panel"}));
  EXPECT_TRUE(HostsRunning(ThreeHosts(), "nope.service").empty());
}

TEST(Planner, StartsAndRestartsCarryTheSettleWindowAndStopsDoNot) {
  Config c = ThreeHosts();
  c.defaults.healthy_for_ms = 1500;
  for (auto& s : c.services)
    if (s.name == "sls-api") s.healthy_for_ms = 400;
  RunOptions o;
  o.mode = Mode::kStopAll;
  auto plan = BuildPlan(c, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  for (const auto& s : plan->steps) {
    const uint32_t want = s.operation == v1::OPERATION_STOP ? 0 : (s.service == "sls-api" ? 400 : 1500);
    EXPECT_EQ(s.healthy_for_ms, want) << s.id;
    EXPECT_EQ(ToExecuteRequest(s, "run-1").healthy_for_ms(), want) << s.id;
  }
}

}  // namespace
}  // namespace failover::coordinator

namespace failover::coordinator {
namespace {

Config WithApiBudget(uint32_t min_healthy) {
  Config c = testing::SlsTestConfig();
  for (auto& s : c.services)
    if (s.name == "sls-api") s.min_healthy = min_healthy;
  return c;
}

TEST(PlannerBudget, MaxParallelTwoIsSerialisedByTheBudgetAndSaysSo) {
  RunOptions o;
  o.max_parallel = 2;
  auto plan = BuildPlan(WithApiBudget(1), o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(Ids(*plan), (std::vector<std::string>{"01-restart-sls-bot", "02-restart-sls-cerebro",
                                                   "03-restart-sls-api-w1", "04-restart-sls-api-w2"}))
      << "sls-bot keeps its wave of 2; sls-api (min_healthy 1 of 2) goes one host at a time";
  ASSERT_EQ(plan->budget_notes.size(), 1u);
  EXPECT_NE(plan->budget_notes[0].find("sls-api"), std::string::npos) << plan->budget_notes[0];
  EXPECT_NE(plan->budget_notes[0].find("narrowed to 1"), std::string::npos) << plan->budget_notes[0];
}

TEST(PlannerBudget, ABudgetNoWaveCanKeepRefusesThePlan) {
  RunOptions o;
  o.services = {"sls-api"};
  auto all = BuildPlan(WithApiBudget(2), o);
  ASSERT_EQ(all.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(all.status().message().find("sls-api"), std::string::npos);
  o.mode = Mode::kStopAll;
  auto stop_all = BuildPlan(WithApiBudget(1), o);
  ASSERT_EQ(stop_all.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(stop_all.status().message().find("stop-all"), std::string::npos);
}

TEST(PlannerBudget, WithoutABudgetMaxParallelIsKept) {
  RunOptions o;
  o.max_parallel = 2;
  auto plan = BuildPlan(WithApiBudget(0), o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_TRUE(plan->budget_notes.empty());
  EXPECT_EQ(plan->steps.back().hosts, (std::vector<std::string>{"api", "panel"}));
}

}  // namespace
}  // namespace failover::coordinator
