#include "agent/metrics.h"

#include "agent/metrics_prometheus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using ::testing::HasSubstr;

class OneJob : public SystemdManager {
 public:
  absl::StatusOr<v1::UnitState> GetUnitState(const std::string&) override { return v1::UnitState(); }
  absl::StatusOr<JobOutcome> RunJob(JobKind, const std::string&, std::chrono::milliseconds) override {
    if (fail) return absl::DeadlineExceededError("job timed out");
    return JobOutcome{"done", std::chrono::microseconds(5)};
  }
  absl::Status ResetFailed(const std::string&) override { return absl::OkStatus(); }
  bool fail = false;
};

class Unhealthy : public ProbeRunner {
 public:
  v1::ProbeResult Run(const v1::ProbeSpec&) override { return v1::ProbeResult(); }
};

TEST(AgentMetrics, NamesFollowPrometheusConventions) {
  EXPECT_STREQ(kAgentJobsTotal, "failover_agent_jobs_total");
  EXPECT_STREQ(kAgentDbusReconnectsTotal, "failover_agent_dbus_reconnects_total");
  EXPECT_STREQ(kAgentLeaseExpiriesTotal, "failover_agent_lease_expiries_total");
  EXPECT_STREQ(kAgentProbeResultsTotal, "failover_agent_probe_results_total");
}

TEST(AgentMetrics, TheDecoratorsCountJobsByOpAndResultAndProbesByResultAndStateReadsByWay) {
  PrometheusMetricsSink sink;
  OneJob systemd;
  MeteredSystemdManager metered(&systemd, &sink);
  ASSERT_TRUE(metered.RunJob(JobKind::kStop, "sls-api.service", std::chrono::seconds(1)).ok());
  systemd.fail = true;
  EXPECT_FALSE(metered.RunJob(JobKind::kStart, "sls-api.service", std::chrono::seconds(1)).ok());
  Unhealthy probe;
  MeteredProbeRunner probes(&probe, &sink);
  probes.Run(v1::ProbeSpec());
  sink.LeaseExpired();
  sink.DbusReconnected();
  sink.StateRead(true);
  sink.StateRead(true);
  sink.StateRead(false);
  const std::string text = sink.Text();
  EXPECT_THAT(text, HasSubstr("failover_agent_jobs_total{op=\"stop\",result=\"done\"} 1"));
  EXPECT_THAT(text, HasSubstr("failover_agent_jobs_total{op=\"start\",result=\"timeout\"} 1"));
  EXPECT_THAT(text, HasSubstr("failover_agent_probe_results_total{result=\"unhealthy\"} 1"));
  EXPECT_THAT(text, HasSubstr("failover_agent_probe_results_total{result=\"healthy\"} 0"));
  EXPECT_THAT(text, HasSubstr("failover_agent_lease_expiries_total 1"));
  EXPECT_THAT(text, HasSubstr("failover_agent_dbus_reconnects_total 1"));
  EXPECT_THAT(text, HasSubstr("failover_agent_state_reads_total{via=\"private\"} 2"));
  EXPECT_THAT(text, HasSubstr("failover_agent_state_reads_total{via=\"bus\"} 1"));
}

TEST(AgentMetrics, ANonLoopbackListenIsRefusedUnlessAllowed) {
  EXPECT_TRUE(CheckMetricsListen("127.0.0.1:9465", false).ok());
  EXPECT_TRUE(CheckMetricsListen("", false).ok());
  absl::Status s = CheckMetricsListen("10.77.0.11:9465", false);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("--metrics-allow-remote"));
  EXPECT_TRUE(CheckMetricsListen("10.77.0.11:9465", true).ok());
}

}  // namespace
}  // namespace failover::agent
