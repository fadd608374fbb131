#include "coordinator/metrics.h"


#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "coordinator/run_executor.h"
#include "prometheus/counter.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace failover::coordinator {

struct CoordinatorMetrics::Families {
  prometheus::Family<prometheus::Counter>* runs;
  prometheus::Family<prometheus::Histogram>* step_duration;
  prometheus::Family<prometheus::Histogram>* unit_downtime;
  prometheus::Family<prometheus::Counter>* gate_probes;
};

namespace {

// Seconds: from a fast restart (tens of ms) to a slow stop (minutes).
const prometheus::Histogram::BucketBoundaries& Buckets() {
  static const auto* b = new prometheus::Histogram::BucketBoundaries{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  return *b;
}

}  // namespace

CoordinatorMetrics::CoordinatorMetrics() : registry_(std::make_shared<prometheus::Registry>()), f_(new Families) {
  f_->runs = &prometheus::BuildCounter().Name(kRunsTotal).Help("Failover runs by outcome").Register(*registry_);
  f_->step_duration = &prometheus::BuildHistogram()
                           .Name(kStepDurationSeconds)
                           .Help("Duration of executed steps (jobs and gates), seconds")
                           .Register(*registry_);
  f_->unit_downtime = &prometheus::BuildHistogram()
                           .Name(kUnitDowntimeSeconds)
                           .Help("Downtime of units stopped by executed runs (stopped to healthy), seconds")
                           .Register(*registry_);
  f_->gate_probes = &prometheus::BuildCounter()
                         .Name(kGateProbeResultsTotal)
                         .Help("Gate probe results of runs by result (healthy, unhealthy)")
                         .Register(*registry_);
  // Every outcome is present from the start (a scrape before the first run sees zeros).
  for (auto o : {v1::RUN_SUCCEEDED, v1::RUN_FAILED, v1::RUN_ABORTED, v1::RUN_INTERRUPTED, v1::RUN_REFUSED})
    f_->runs->Add({{"outcome", absl::AsciiStrToLower(OutcomeName(o))}});
}

CoordinatorMetrics::~CoordinatorMetrics() = default;

void CoordinatorMetrics::ObserveRun(const v1::Report& r) {
  f_->runs->Add({{"outcome", absl::AsciiStrToLower(OutcomeName(r.outcome()))}}).Increment();
  for (const auto& p : r.health())
    if (!p.step_id().empty())
      f_->gate_probes->Add({{"result", p.healthy() ? "healthy" : "unhealthy"}}).Increment();
  if (r.dry_run()) return;
  for (const auto& s : r.steps())
    if (s.started_at_unix_us() > 0 && s.finished_at_unix_us() >= s.started_at_unix_us())
      f_->step_duration->Add({}, Buckets()).Observe((s.finished_at_unix_us() - s.started_at_unix_us()) / 1e6);
  for (const auto& u : r.metrics().units())
    if (u.downtime_us() > 0) f_->unit_downtime->Add({}, Buckets()).Observe(u.downtime_us() / 1e6);
}

std::string CoordinatorMetrics::Text() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

}  // namespace failover::coordinator
