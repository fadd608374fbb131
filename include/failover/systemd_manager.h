// The agent's view of systemd. The real one talks D-Bus (agent/dbus_systemd_manager);
// unit tests use a fake.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/kill_signal.h"
#include "failover/v1/report.pb.h"

namespace failover {

// The outcome of one systemd job, as JobRemoved reported it.
struct JobOutcome {
  // done, canceled, timeout, failed, dependency, skipped (systemd's words), or
  // "start-limit-hit" when a failed start was systemd's start limit.
  std::string result;
  // From the D-Bus call to JobRemoved.
  std::chrono::microseconds duration{0};
  bool ok() const { return result == "done"; }
};

enum class JobKind { kStart, kStop };

class SystemdManager {
 public:
  virtual ~SystemdManager() = default;
  // Reads load/active/sub state, MainPID, ExecMainStatus, Result, NRestarts, StateChangeTimestamp.
  // NOT_FOUND when systemd does not know the unit.
  virtual absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) = 0;
  // GetUnitState of each unit, in order (one answer per unit). The D-Bus manager asks for all of
  // them at once and waits once; others read one by one.
  virtual std::vector<absl::StatusOr<v1::UnitState>> GetUnitStates(const std::vector<std::string>& units) {
    std::vector<absl::StatusOr<v1::UnitState>> out;
    out.reserve(units.size());
    for (const auto& u : units) out.push_back(GetUnitState(u));
    return out;
  }
  // Issues StartUnit/StopUnit (mode "replace") and waits for the job's JobRemoved.
  // DEADLINE_EXCEEDED when no JobRemoved within `timeout` (the job is left to systemd).
  virtual absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit,
                                            std::chrono::milliseconds timeout) = 0;
  // ResetFailedUnit: clears the failed state and the start-limit counter.
  virtual absl::Status ResetFailed(const std::string& unit) = 0;
  // KillUnit(unit, who, signal): sends `signal` to the unit's processes (`who`: "main", "control"
  // or "all"), for incident simulation. Returns once systemd accepted the call. Managers that
  // cannot kill (simulations) answer UNIMPLEMENTED.
  virtual absl::Status KillUnit(const std::string& unit, const std::string& who, KillSignal signal) {
    (void)unit, (void)who, (void)signal;
    return absl::UnimplementedError("this systemd manager cannot kill units");
  }
};

}  // namespace failover
