#include "coordinator/report_metrics.h"

#include "coordinator/report_sample.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using testing::AddOp;
using testing::AddProbe;
using testing::AddState;
using testing::AddStep;
using testing::kMs;
using testing::kT0;

const v1::UnitRecovery& Unit(const v1::RecoveryMetrics& m, const std::string& host) {
  for (const auto& u : m.units())
    if (u.host() == host) return u;
  ADD_FAILURE() << "no metrics for host " << host;
  static v1::UnitRecovery none;
  return none;
}

// One restart on api, from the agents' timestamps: stop at +1000 ms for 100, start at +1150 for 250.
v1::Report OneRestart(bool gate_passes, bool gated = true) {
  v1::Report r;
  r.set_run_id("r-1");
  AddState(r.mutable_initial_state(), "api", "a.service", "active", 1, kT0 - 1000 * kMs, kT0);
  AddStep(&r, "01", "a", "api", v1::STEP_SUCCEEDED, kT0, kT0 + 3000 * kMs, gated ? "a-health" : "");
  AddOp(&r, "01", "api", "a.service", v1::OPERATION_STOP, kT0 + 1000 * kMs, 100 * kMs, "done");
  AddOp(&r, "01", "api", "a.service", v1::OPERATION_START, kT0 + 1150 * kMs, 250 * kMs, "done");
  if (gated) AddProbe(&r, "01", "api", "a-health", "127.0.0.1:1", gate_passes, kT0 + 1900 * kMs, "x");
  AddState(r.mutable_final_state(), "api", "a.service", "active", 1, kT0 + 1400 * kMs, kT0 + 3000 * kMs);
  return r;
}

TEST(RecoveryMetrics, TimesEachUnitFromItsJobsAndItsFirstPassingGate) {
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(OneRestart(true));
  const auto& u = Unit(m, "api");
  EXPECT_EQ(u.time_to_stopped_us(), 100 * kMs);
  EXPECT_EQ(u.time_to_active_us(), 400 * kMs);
  EXPECT_EQ(u.time_to_healthy_us(), 900 * kMs);
  EXPECT_EQ(u.downtime_us(), 800 * kMs);
  EXPECT_FALSE(u.downtime_open_ended());
  EXPECT_EQ(u.service(), "a");
  EXPECT_EQ(u.note(), "");
}

TEST(RecoveryMetrics, IgnoresAGateProbeThatFinishedBeforeTheUnitWasActive) {
  v1::Report r = OneRestart(true);
  AddProbe(&r, "01", "api", "a-health", "127.0.0.1:1", true, kT0 + 1200 * kMs, "stale");
  EXPECT_EQ(Unit(ComputeRecoveryMetrics(r), "api").healthy_at_unix_us(), kT0 + 1900 * kMs);
}

TEST(RecoveryMetrics, DryRunHasNoDowntimeAndSaysSo) {
  v1::Report r = OneRestart(true);
  r.set_dry_run(true);
  for (auto& o : *r.mutable_operations()) o.set_result("would-run");
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(r);
  EXPECT_EQ(m.units_size(), 0);
  EXPECT_EQ(m.units_down(), 0u);
  EXPECT_EQ(m.max_downtime_us(), -1);
  EXPECT_EQ(m.systemd_us(), 0);
  EXPECT_NE(m.note().find("dry run"), std::string::npos);
  EXPECT_EQ(DurationText(m.max_downtime_us()), "-");
}

TEST(RecoveryMetrics, FailedStartLeavesTheDowntimeOpenEndedAndSaysSo) {
  v1::Report r = OneRestart(false);
  r.mutable_operations(1)->set_result("failed");
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(r);
  const auto& u = Unit(m, "api");
  EXPECT_TRUE(u.downtime_open_ended());
  EXPECT_EQ(u.active_at_unix_us(), 0);
  EXPECT_EQ(u.time_to_active_us(), -1);
  EXPECT_EQ(u.time_to_healthy_us(), -1);
  // Lower bound: stopped (+1100 ms) to the last agent reading (final state at +3000 ms).
  EXPECT_EQ(u.downtime_us(), 1900 * kMs);
  EXPECT_NE(u.note().find("start failed (result failed)"), std::string::npos) << u.note();
  EXPECT_EQ(DowntimeText(u), "≥ 1.900 s (open-ended)");
  EXPECT_EQ(m.open_ended(), 1u);
  EXPECT_NE(m.note().find("open-ended"), std::string::npos);
}

TEST(RecoveryMetrics, UnitNeverHealthyIsOpenEndedWithItsOwnNote) {
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(OneRestart(false));
  const auto& u = Unit(m, "api");
  EXPECT_EQ(u.time_to_active_us(), 400 * kMs);
  EXPECT_EQ(u.healthy_at_unix_us(), 0);
  EXPECT_TRUE(u.downtime_open_ended());
  EXPECT_NE(u.note().find("never healthy"), std::string::npos) << u.note();
}

TEST(RecoveryMetrics, UngatedUnitIsDownUntilActive) {
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(OneRestart(false, false));
  const auto& u = Unit(m, "api");
  EXPECT_EQ(u.downtime_us(), 300 * kMs);
  EXPECT_FALSE(u.downtime_open_ended());
  EXPECT_NE(u.note().find("no gate probe"), std::string::npos);
}

TEST(RecoveryMetrics, UnitDownBeforeTheRunCountsFromItsLastStateChange) {
  v1::Report r = OneRestart(true);
  r.mutable_initial_state(0)->set_active_state("inactive");
  r.mutable_operations()->DeleteSubrange(0, 1);
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(r);
  const auto& u = Unit(m, "api");
  EXPECT_EQ(u.stopped_at_unix_us(), kT0 - 1000 * kMs);
  EXPECT_EQ(u.time_to_stopped_us(), -1);
  EXPECT_EQ(u.downtime_us(), 2900 * kMs);
}

TEST(RecoveryMetrics, RestartsObservedAreTheNRestartsDeltaWhenTheRunDidNotStartTheUnit) {
  v1::Report r = OneRestart(true);
  r.mutable_operations()->DeleteSubrange(1, 1);  // stop only
  r.mutable_final_state(0)->set_n_restarts(4);
  EXPECT_EQ(Unit(ComputeRecoveryMetrics(r), "api").restarts_observed(), 3);
}

TEST(RecoveryMetrics, RestartsObservedAfterOurStartAreTheFinalCountBecauseSystemdResetIt) {
  v1::Report r = OneRestart(true);  // NRestarts 1 before the run
  r.mutable_final_state(0)->set_n_restarts(0);
  EXPECT_EQ(Unit(ComputeRecoveryMetrics(r), "api").restarts_observed(), 0);
  r.mutable_final_state(0)->set_n_restarts(2);
  EXPECT_EQ(Unit(ComputeRecoveryMetrics(r), "api").restarts_observed(), 2);
}

TEST(RecoveryMetrics, IgnoresTheCoordinatorClockAndSplitsTheRunFromAgentTimestamps) {
  v1::Report r = OneRestart(true);
  r.set_started_at_unix_us(kT0 - 60'000 * kMs);  // the coordinator's clock, far off: must not matter
  r.set_finished_at_unix_us(kT0 + 60'000 * kMs);
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(r);
  EXPECT_EQ(m.total_run_us(), 3000 * kMs);   // initial read (+0) .. final read (+3000)
  EXPECT_EQ(m.systemd_us(), 350 * kMs);      // 100 + 250
  EXPECT_EQ(m.gate_wait_us(), 500 * kMs);    // start done (+1400) .. gate passed (+1900)
  EXPECT_EQ(m.tool_us(), 2150 * kMs);
}

TEST(RecoveryMetrics, ParallelJobsCountOnceInSystemdTime) {
  v1::Report r = OneRestart(true);
  AddOp(&r, "01", "cerebro", "a.service", v1::OPERATION_STOP, kT0 + 1050 * kMs, 100 * kMs, "done");
  EXPECT_EQ(ComputeRecoveryMetrics(r).systemd_us(), 400 * kMs);  // [1000,1150] + [1150,1400]
}

TEST(RecoveryMetrics, SampleRunHasPerServiceAndRunMaxAndMedian) {
  const v1::RecoveryMetrics m = ComputeRecoveryMetrics(testing::SampleReport());
  ASSERT_EQ(m.units_size(), 2);  // panel was never reached: no job, no figures
  EXPECT_EQ(Unit(m, "api").downtime_us(), 880 * kMs);
  EXPECT_EQ(Unit(m, "cerebro").downtime_us(), 1900 * kMs);  // +3100 .. final read +5000, open-ended
  EXPECT_EQ(Unit(m, "cerebro").restarts_observed(), 1);
  ASSERT_EQ(m.services_size(), 1);
  EXPECT_EQ(m.services(0).service(), "sls-api");
  EXPECT_EQ(m.services(0).max_downtime_us(), 1900 * kMs);
  EXPECT_EQ(m.services(0).median_downtime_us(), 1390 * kMs);
  EXPECT_EQ(m.services(0).open_ended(), 1u);
  EXPECT_EQ(m.units_down(), 2u);
  EXPECT_EQ(m.total_run_us(), 4900 * kMs);
}

}  // namespace
}  // namespace failover::coordinator
