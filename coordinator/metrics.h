// The coordinator's /metrics (Prometheus text format, prometheus-cpp): every figure comes from a
// finished run's report, so the executor and the history stay free of prometheus-cpp.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "failover/v1/report.pb.h"

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace failover::coordinator {

// Metric names (Prometheus conventions: snake_case, unit suffix, _total for counters).
inline constexpr char kRunsTotal[] = "failover_runs_total";
inline constexpr char kStepDurationSeconds[] = "failover_step_duration_seconds";
inline constexpr char kUnitDowntimeSeconds[] = "failover_unit_downtime_seconds";
inline constexpr char kGateProbeResultsTotal[] = "failover_gate_probe_results_total";

class CoordinatorMetrics {
 public:
  CoordinatorMetrics();
  ~CoordinatorMetrics();
  // Counts a finished run: failover_runs_total{outcome}, its steps' durations, its units'
  // downtimes and its gate probes' results.
  void ObserveRun(const v1::Report& report);
  // The current figures in the Prometheus text format (what /metrics serves).
  std::string Text() const;
  std::shared_ptr<prometheus::Registry> registry() const { return registry_; }

 private:
  struct Families;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> f_;
};

// Served by failover::ServeMetrics (common/metrics_exposer.h), shared with the agent.

}  // namespace failover::coordinator
