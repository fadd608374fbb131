// The agent's MetricsSink over prometheus-cpp, served on --metrics-listen (edge).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "agent/metrics.h"

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace failover::agent {

inline constexpr char kAgentJobsTotal[] = "failover_agent_jobs_total";
inline constexpr char kAgentDbusReconnectsTotal[] = "failover_agent_dbus_reconnects_total";
inline constexpr char kAgentStateReadsTotal[] = "failover_agent_state_reads_total";
inline constexpr char kAgentLeaseExpiriesTotal[] = "failover_agent_lease_expiries_total";
inline constexpr char kAgentProbeResultsTotal[] = "failover_agent_probe_results_total";

class PrometheusMetricsSink : public MetricsSink {
 public:
  PrometheusMetricsSink();
  ~PrometheusMetricsSink() override;
  void JobDone(const std::string& op, const std::string& result) override;
  void DbusReconnected() override;
  void StateRead(bool private_socket) override;
  void LeaseExpired() override;
  void ProbeDone(const std::string& result) override;
  std::string Text() const;  // the Prometheus text format
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

// --metrics-listen: "" = off; a non-loopback address is refused unless allow_remote.
absl::Status CheckMetricsListen(const std::string& addr, bool allow_remote);
// Served by failover::ServeMetrics (common/metrics_exposer.h), shared with the coordinator.

}  // namespace failover::agent
