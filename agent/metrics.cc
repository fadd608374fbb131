#include "agent/metrics.h"

namespace failover::agent {

NullMetricsSink* NullMetricsSink::Get() {
  static auto* sink = new NullMetricsSink;
  return sink;
}

absl::StatusOr<JobOutcome> MeteredSystemdManager::RunJob(JobKind kind, const std::string& unit,
                                                        std::chrono::milliseconds timeout) {
  auto outcome = inner_->RunJob(kind, unit, timeout);
  const char* op = kind == JobKind::kStart ? "start" : "stop";
  if (outcome.ok()) sink_->JobDone(op, outcome->result);
  else sink_->JobDone(op, outcome.status().code() == absl::StatusCode::kDeadlineExceeded ? "timeout" : "error");
  return outcome;
}

v1::ProbeResult MeteredProbeRunner::Run(const v1::ProbeSpec& spec) {
  v1::ProbeResult r = inner_->Run(spec);
  sink_->ProbeDone(r.healthy() ? "healthy" : "unhealthy");
  return r;
}

}  // namespace failover::agent
