#include "coordinator/gate_plan.h"

#include "coordinator/planner.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

v1::ProbeSpec Tcp(uint32_t timeout_ms, uint32_t deadline_ms) {
  v1::ProbeSpec p;
  p.mutable_tcp()->set_host("127.0.0.1");
  p.mutable_tcp()->set_port(8080);
  p.set_timeout_ms(timeout_ms);
  p.set_deadline_ms(deadline_ms);
  return p;
}

Config GateConfigFixture() {
  Config c = testing::SlsTestConfig();
  c.health_check.enabled = true;
  c.health_check.url = "http://127.0.0.1:8080/health";
  c.health_check.timeout_ms = 2000;
  c.health_check.deadline_ms = 10000;
  v1::ProbeSpec guard = Tcp(1000, 5000);
  guard.set_name("monitor-guard");
  c.guards.push_back({"panel", guard});
  c.gates.push_back({"api-port", "api", Tcp(500, 4000)});
  c.stop_conditions.push_back({"worker-ok", "cerebro", Tcp(300, 3000)});
  c.defaults.stop_condition_interval_ms = 250;
  return c;
}

TEST(GatePlan, HealthCheckGuardsAndGatesRunBeforeAndAfterInThatOrder) {
  const GatePlan p = PlanGates(GateConfigFixture(), {true, false, false});
  ASSERT_EQ(p.before.size(), 3u);
  ASSERT_EQ(p.after.size(), 3u);
  EXPECT_EQ(p.before[0].name, kHealthCheckGate);
  EXPECT_TRUE(p.before[0].on_coordinator);
  EXPECT_EQ(p.before[0].probe.name(), "health_check") << "the probe keeps its own name";
  EXPECT_EQ(p.before[1].name, "monitor-guard");
  EXPECT_EQ(p.before[1].where, "panel");
  EXPECT_FALSE(p.before[1].on_coordinator);
  EXPECT_EQ(p.before[2].name, "api-port");
  EXPECT_EQ(p.before[2].probe.name(), "api-port") << "an unnamed probe takes the gate's name";
  EXPECT_EQ(p.after[2].phase, GatePhase::kAfter);
}

TEST(GatePlan, BeforeAndDuringALookIsOneTimeoutAfterItMayWaitItsDeadline) {
  const GatePlan p = PlanGates(GateConfigFixture(), {true, false, false});
  EXPECT_EQ(p.before[2].probe.deadline_ms(), 500u);
  EXPECT_EQ(p.after[2].probe.deadline_ms(), 4000u);
  ASSERT_EQ(p.during.size(), 1u);
  EXPECT_EQ(p.during[0].probe.deadline_ms(), 300u);
  EXPECT_EQ(p.during[0].rpc_deadline.count(), 300 + 300 + 5000);
  EXPECT_EQ(p.after[2].rpc_deadline.count(), 4000 + 500 + 5000);
  EXPECT_EQ(p.watch_interval.count(), 250);
}

TEST(GatePlan, AHealthQuerySweepsTheHealthCheckOnceGuardsAndGatesToTheirDeadlineAndTheStopConditions) {
  GateOptions query;
  query.health_query = true;
  const GatePlan p = PlanGates(GateConfigFixture(), query);
  ASSERT_EQ(p.health.size(), 4u);
  EXPECT_EQ(p.health[0].name, kHealthCheckGate);
  EXPECT_EQ(p.health[0].probe.deadline_ms(), p.health[0].probe.timeout_ms()) << "one look: it answers for now";
  EXPECT_EQ(p.health[1].name, "monitor-guard");
  EXPECT_EQ(p.health[1].probe.deadline_ms(), 5000u) << "as after a run";
  EXPECT_EQ(p.health[2].name, "api-port");
  EXPECT_EQ(p.health[3].name, "worker-ok");
  EXPECT_EQ(p.health[3].phase, GatePhase::kDuring);
  EXPECT_TRUE(PlanGates(GateConfigFixture(), {true, false, false}).health.empty()) << "a run plans no health sweep";
}

TEST(GatePlan, ADryRunWatchesNoStopConditions) {
  EXPECT_TRUE(PlanGates(GateConfigFixture(), {false, true, false}).during.empty());
  EXPECT_FALSE(PlanGates(GateConfigFixture(), {false, true, false}).refuse_on_failure);
}

TEST(GatePlan, OnlyAnExecutedRequireHealthyRunWithoutForceRefuses) {
  EXPECT_TRUE(PlanGates(GateConfigFixture(), {true, true, false}).refuse_on_failure);
  EXPECT_FALSE(PlanGates(GateConfigFixture(), {true, true, true}).refuse_on_failure);
  EXPECT_FALSE(PlanGates(GateConfigFixture(), {true, false, false}).refuse_on_failure);
}

TEST(GatePlan, RefusalNamesEveryFailingGateWhereAndWhy) {
  const GatePlan p = PlanGates(GateConfigFixture(), {true, true, false});
  std::vector<v1::GateResult> before(3);
  for (size_t i = 0; i < before.size(); ++i) before[i] = ToGateResult(p.before[i], v1::ProbeResult());
  before[0].set_passed(true);
  before[1].set_message("unit sls-monitor.timer is inactive");
  before[2].set_message("connection refused");
  const std::string why = RefusalReason(p, before);
  EXPECT_NE(why.find("2 pre-flight gate(s) failing"), std::string::npos) << why;
  EXPECT_NE(why.find("monitor-guard on panel: unit sls-monitor.timer is inactive"), std::string::npos) << why;
  EXPECT_NE(why.find("api-port on api: connection refused"), std::string::npos) << why;
  EXPECT_NE(why.find("--force"), std::string::npos) << why;
  EXPECT_EQ(why.find("health-check"), std::string::npos) << "a passing gate is not named";
  before[1].set_passed(true);
  before[2].set_passed(true);
  EXPECT_EQ(RefusalReason(p, before), "");
  EXPECT_EQ(RefusalReason(PlanGates(GateConfigFixture(), {true, true, true}), {before[0]}), "");
}

TEST(GatePlan, BuildPlanTakesRequireHealthyFromTheRequestOrTheConfigDefault) {
  Config c = GateConfigFixture();
  c.defaults.require_healthy = true;
  v1::RunRequest req;
  req.set_execute(true);
  auto o = ResolveOptions(c, req);
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->require_healthy) << "config default";
  req.set_require_healthy(false);
  req.set_force(true);
  o = ResolveOptions(c, req);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->require_healthy) << "--no-require-healthy wins";
  EXPECT_TRUE(o->force);
  auto plan = BuildPlan(c, *o);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->gates.before.size(), 3u);
  EXPECT_FALSE(plan->gates.refuse_on_failure);
}

TEST(GatePlan, ToGateResultCarriesTheProbesFiguresAndThePhase) {
  const GatePlan p = PlanGates(GateConfigFixture(), {true, false, false});
  v1::ProbeResult r;
  r.set_target("127.0.0.1:8080");
  r.set_kind("tcp");
  r.set_healthy(true);
  r.set_latency_us(1234);
  r.set_attempts(2);
  r.set_detail("connected");
  const v1::GateResult g = ToGateResult(p.after[2], r);
  EXPECT_EQ(g.name(), "api-port");
  EXPECT_EQ(g.where(), "api");
  EXPECT_EQ(g.phase(), v1::GATE_PHASE_AFTER);
  EXPECT_TRUE(g.passed());
  EXPECT_EQ(g.latency_us(), 1234);
  EXPECT_EQ(g.attempts(), 2u);
  EXPECT_EQ(g.message(), "connected");
  EXPECT_EQ(g.target(), "127.0.0.1:8080");
}

}  // namespace
}  // namespace failover::coordinator

namespace failover::coordinator {
namespace {

TEST(GatePlanSince, TheMonitorGuardAfterARunLooksForFailuresSinceTheRunBegan) {
  PlannedGate guard;
  guard.probe.mutable_unit()->set_unit("sls-monitor.timer");
  guard.probe.mutable_unit()->set_result_unit("sls-monitor.service");
  EXPECT_EQ(SinceRunStart(guard, 1700000000000000).probe.unit().no_failure_since_unix_us(), 1700000000000000);
  guard.probe.mutable_unit()->set_no_failure_since_unix_us(42);
  EXPECT_EQ(SinceRunStart(guard, 1700000000000000).probe.unit().no_failure_since_unix_us(), 42) << "config wins";
  PlannedGate http;
  http.probe.mutable_http()->set_url("http://127.0.0.1/health");
  EXPECT_FALSE(SinceRunStart(http, 1700000000000000).probe.has_unit());
  PlannedGate unit_only;
  unit_only.probe.mutable_unit()->set_unit("sls-monitor.timer");
  EXPECT_EQ(SinceRunStart(unit_only, 1700000000000000).probe.unit().no_failure_since_unix_us(), 0);
}

}  // namespace
}  // namespace failover::coordinator
