// Executes one step on this host: validate, read initial state, run the systemd jobs, run the
// gate probes, read final state, emitting an event for each. Pure logic over SystemdManager,
// ProbeRunner and Clock, so it is unit-tested with fakes and proven on real systemd in e2e.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "agent/audit_log.h"
#include "agent/host_lease.h"
#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/probe_spec.h"
#include "failover/systemd_manager.h"
#include "failover/unit_name.h"
#include "failover/v1/agent.pb.h"

namespace failover::agent {

// Limits on request fields (oversized input is refused, not stored).
inline constexpr int kMaxUnitsPerRequest = 64;
// GetState reads only: a host may have more units than one step acts on. Clients batch above it.
inline constexpr int kMaxUnitsPerGetState = 256;
inline constexpr int kMaxProbesPerRequest = 32;
inline constexpr uint32_t kMaxJobTimeoutMs = 15 * 60 * 1000;
inline constexpr uint32_t kMaxLeaseMs = 24 * 60 * 60 * 1000;
inline constexpr size_t kMaxIdLength = 128;

// Checks a run or step id: 1..128 characters from [A-Za-z0-9._:-].
absl::Status ValidateId(const std::string& what, const std::string& id);
// Checks every field of an Execute request against limits, unit-name rules and the allowlist.
absl::Status ValidateExecuteRequest(const v1::ExecuteRequest& req, const UnitAllowlist& allowlist);

// A STOP or RESTART step's lease must cover one stop and one start of each unit as the agent
// waits for them: TimeoutStopUSec + TimeoutStartUSec, each capped by the step's job_timeout_ms.
// FAILED_PRECONDITION naming both values otherwise.
absl::Status CheckLeaseCoversUnitTimeouts(const v1::ExecuteRequest& req, const v1::UnitState& st);

using EmitFn = std::function<void(v1::AgentEvent)>;

// The systemd job result text as the enum decisions use ("refused" and "error" → ERROR).
v1::JobResult JobResultOfText(const std::string& result);
// The settle window's verdict: "" when every unit of `before` (read when the gate began) is still
// active with the same NRestarts and MainPID in `after`; else why, naming unit and host.
std::string SettleFailure(const std::string& host, uint32_t healthy_for_ms, const std::vector<v1::UnitState>& before,
                          const std::vector<v1::UnitState>& after);

class StepRunner {
 public:
  StepRunner(std::string host, SystemdManager* systemd, ProbeRunner* probes, HostLease* lease,
             AuditLog* audit, Clock* clock)
      : host_(std::move(host)), systemd_(systemd), probes_(probes), lease_(lease), audit_(audit), clock_(clock) {}

  // Runs a validated request to the end, whatever happens to the caller's stream, and returns
  // the final STEP_DONE event (also emitted). `caller` is the peer identity, for the audit log.
  // The caller must have acquired the host lease for req.run_id().
  v1::AgentEvent Run(const v1::ExecuteRequest& req, const std::string& caller, const EmitFn& emit);

  // Starts units the agent holds stopped (lease expired, run released, agent restarted).
  // Records each as an autonomous operation.
  void RestoreUnits(const std::string& run_id, const std::vector<std::string>& units, const std::string& why);

  const std::string& host() const { return host_; }

 private:
  // Issues one job with audit entries; returns the record (result "done" on success). With
  // `hold`, the unit is held (persisted) before the job. Result "refused", the unit untouched,
  // when the begin entry cannot be audited (except the agent's own restores) or the hold
  // cannot be persisted; the detail names the file and the error.
  v1::OperationRecord Job(const v1::ExecuteRequest& req, const std::string& caller, JobKind kind,
                          const std::string& unit, bool autonomous, bool hold = false);
  absl::Status BeforeJob(const v1::ExecuteRequest& req, const std::string& caller, JobKind kind,
                         const std::string& unit, bool autonomous, bool hold);
  v1::OperationRecord NewRecord(const v1::ExecuteRequest& req, JobKind kind, const std::string& unit,
                                bool autonomous);
  v1::AgentEvent Event(v1::AgentEvent::Kind kind, const std::string& unit);
  // The JOB_SKIPPED event of a stop the step does not issue: `st` (read before) is not running.
  v1::AgentEvent SkippedStop(const v1::ExecuteRequest& req, const v1::UnitState& st);
  // States of the request's units now, read together (one answer per unit).
  std::vector<absl::StatusOr<v1::UnitState>> ReadStates(const v1::ExecuteRequest& req);
  // Runs the gate probes, emitting each result; false (and `why`) at the first unhealthy one.
  bool RunProbes(const v1::ExecuteRequest& req, const EmitFn& emit, std::string* why);
  // RunProbes while the units' states are read on another thread (D-Bus and HTTP do not wait
  // for each other): `states` once both are done.
  bool ProbeWhileReading(const v1::ExecuteRequest& req, const EmitFn& emit, std::string* why,
                         std::vector<absl::StatusOr<v1::UnitState>>* states);
  // The settle window: waits req.healthy_for_ms, then the probes must pass again and the units
  // (read beside them: `after`, the step's final state) must not have gone down or restarted
  // since `at_gate`.
  bool Settle(const v1::ExecuteRequest& req, const std::vector<v1::UnitState>& at_gate, const EmitFn& emit,
              std::string* why, std::vector<absl::StatusOr<v1::UnitState>>* after);

  std::string host_;
  SystemdManager* systemd_;
  ProbeRunner* probes_;
  HostLease* lease_;
  AuditLog* audit_;
  Clock* clock_;
};

}  // namespace failover::agent
