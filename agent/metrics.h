// What the agent counts for /metrics, behind a small interface: the pure rooms (step runner,
// lease) and the decorators below record into a MetricsSink; agent/metrics_prometheus.* is the
// only code that links prometheus-cpp.
#pragma once

#include <string>

#include "failover/probe.h"
#include "failover/systemd_manager.h"

namespace failover::agent {

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;
  // One systemd job: op "start"/"stop", result as systemd says ("done", "failed", "timeout", "error").
  virtual void JobDone(const std::string& op, const std::string& result) = 0;
  virtual void DbusReconnected() = 0;
  // One read of unit states: over systemd's private socket, or over the system bus.
  virtual void StateRead(bool private_socket) = 0;
  virtual void LeaseExpired() = 0;
  // result "healthy" or "unhealthy".
  virtual void ProbeDone(const std::string& result) = 0;
};

// Records nothing (metrics off, unit tests).
class NullMetricsSink : public MetricsSink {
 public:
  void JobDone(const std::string&, const std::string&) override {}
  void DbusReconnected() override {}
  void StateRead(bool) override {}
  void LeaseExpired() override {}
  void ProbeDone(const std::string&) override {}
  static NullMetricsSink* Get();
};

// Counts every job the agent runs through `inner` (requested or its own restores).
class MeteredSystemdManager : public SystemdManager {
 public:
  MeteredSystemdManager(SystemdManager* inner, MetricsSink* sink) : inner_(inner), sink_(sink) {}
  absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) override { return inner_->GetUnitState(unit); }
  std::vector<absl::StatusOr<v1::UnitState>> GetUnitStates(const std::vector<std::string>& units) override {
    return inner_->GetUnitStates(units);
  }
  absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit, std::chrono::milliseconds timeout) override;
  absl::Status ResetFailed(const std::string& unit) override { return inner_->ResetFailed(unit); }
  absl::Status KillUnit(const std::string& unit, const std::string& who, KillSignal signal) override {
    return inner_->KillUnit(unit, who, signal);
  }

 private:
  SystemdManager* inner_;
  MetricsSink* sink_;
};

// Counts every probe the agent runs through `inner`.
class MeteredProbeRunner : public ProbeRunner {
 public:
  MeteredProbeRunner(ProbeRunner* inner, MetricsSink* sink) : inner_(inner), sink_(sink) {}
  v1::ProbeResult Run(const v1::ProbeSpec& spec) override;

 private:
  ProbeRunner* inner_;
  MetricsSink* sink_;
};

}  // namespace failover::agent
