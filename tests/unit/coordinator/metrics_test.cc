#include "coordinator/metrics.h"

#include "coordinator/report_metrics.h"
#include "coordinator/report_sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;

TEST(CoordinatorMetrics, NamesFollowPrometheusConventions) {
  EXPECT_STREQ(kRunsTotal, "failover_runs_total");
  EXPECT_STREQ(kStepDurationSeconds, "failover_step_duration_seconds");
  EXPECT_STREQ(kUnitDowntimeSeconds, "failover_unit_downtime_seconds");
  EXPECT_STREQ(kGateProbeResultsTotal, "failover_gate_probe_results_total");
}

TEST(CoordinatorMetrics, EveryOutcomeIsThereBeforeTheFirstRun) {
  CoordinatorMetrics m;
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("# TYPE failover_runs_total counter"));
  EXPECT_THAT(text, HasSubstr("failover_runs_total{outcome=\"succeeded\"} 0"));
  EXPECT_THAT(text, HasSubstr("failover_runs_total{outcome=\"refused\"} 0"));
}

TEST(CoordinatorMetrics, AFinishedRunCountsItsOutcomeStepsDowntimesAndGateProbes) {
  CoordinatorMetrics m;
  v1::Report r = testing::SampleReport();  // aborted; two steps ran; one gate passed
  *r.mutable_metrics() = ComputeRecoveryMetrics(r);
  m.ObserveRun(r);
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("failover_runs_total{outcome=\"aborted\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE failover_step_duration_seconds histogram"));
  EXPECT_THAT(text, HasSubstr("failover_step_duration_seconds_count 2"));
  EXPECT_THAT(text, HasSubstr("failover_unit_downtime_seconds_count"));
  EXPECT_THAT(text, HasSubstr("failover_gate_probe_results_total{result=\"healthy\"} 1"));
}

TEST(CoordinatorMetrics, ADryRunCountsItsOutcomeButNoDurationsOrDowntime) {
  CoordinatorMetrics m;
  v1::Report r = testing::SampleReport();
  r.set_dry_run(true);
  r.set_outcome(v1::RUN_SUCCEEDED);
  m.ObserveRun(r);
  const std::string text = m.Text();
  EXPECT_THAT(text, HasSubstr("failover_runs_total{outcome=\"succeeded\"} 1"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("failover_step_duration_seconds_count 2")));
}

}  // namespace
}  // namespace failover::coordinator
