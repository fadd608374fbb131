// The host lock and the lease on units a run stopped.
//
// One run at a time may act on a host. Units a run stops are "held": if the coordinator goes
// silent for longer than the lease, or the run releases the host, the agent starts them again
// itself. The table is persisted so an agent that was killed mid-step restores on restart.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "failover/clock.h"
#include "failover/v1/report.pb.h"

namespace failover::agent {

class HostLease {
 public:
  // `state_file` may be empty (no persistence, unit tests).
  HostLease(Clock* clock, std::string state_file) : clock_(clock), state_file_(std::move(state_file)) {}

  // Takes the host for `run_id`, or renews it if the run already holds it.
  // FAILED_PRECONDITION naming the holding run otherwise, or when the run's own lease ran out
  // with units still held (they are being restored).
  absl::Status Acquire(const std::string& run_id, std::chrono::milliseconds lease);
  // Extends the lease of the holding run. FAILED_PRECONDITION when another run (or none) holds
  // it, or when its lease already ran out (no step running): an expired lease is never revived.
  absl::Status Renew(const std::string& run_id, std::chrono::milliseconds lease);
  // Ends the run's hold; returns the units still held, which the caller must start again.
  std::vector<std::string> Release(const std::string& run_id);

  // A step is executing for the holder: the lease cannot expire under it. Ending a step does
  // not extend the lease: only the coordinator's renewals do (RenewLease, Acquire of a new step).
  void BeginStep();
  void EndStep();
  // Marks a unit as stopped by the holding run (before the stop job). An error (naming the state
  // file and the OS error) when the hold cannot be persisted: the unit is then not held and the
  // caller must not stop it, since a restarted agent could not bring it back.
  absl::Status Hold(const std::string& unit);
  // The unit is no longer held.
  void Unhold(const std::string& unit);

  // When the lease passed with no step running: clears the holder and returns
  // {run_id, units to start again}. Empty run_id when nothing expired.
  std::pair<std::string, std::vector<std::string>> TakeExpired();
  // For the agent's lease watcher, instead of polling: blocks until the lease's expiry time (by
  // the lease's clock) is reached with no step running, until something that can make it expire
  // sooner happens (Acquire, Renew, the last step ending, StopWaiting), or at most `max_wait`. Waits in
  // real time; call TakeExpired after it returns (it may return early).
  void WaitForPossibleExpiry(std::chrono::milliseconds max_wait);
  // The watcher is stopping: ends a WaitForPossibleExpiry now, and later ones return at once.
  void StopWaiting();
  // Units held by a previous agent process (read from the state file at start-up), with their
  // run; the file is then rewritten empty, so they are restored once, not at every restart.
  std::pair<std::string, std::vector<std::string>> TakePersisted();

  std::string holder();
  int steps_in_flight();
  std::vector<std::string> held_units();

  // The agent's own actions (lease expiry, restart after a crash), kept for GetState; persisted
  // beside the state file (<state_file>.autonomous) and read back by TakePersisted, so a run's
  // report shows restores a previous agent process did.
  void RecordAutonomous(const v1::OperationRecord& op);
  std::vector<v1::OperationRecord> autonomous();

 private:
  absl::Status PersistLocked();
  std::string AutonomousFile() const;
  void PersistAutonomousLocked();
  void LoadAutonomousLocked();
  bool ExpiredLocked(std::chrono::steady_clock::time_point now) const;
  absl::Status ExpiredError(const std::string& run_id, std::chrono::steady_clock::time_point now) const;
  Clock* clock_;
  std::string state_file_;
  std::mutex mu_;
  std::string holder_;
  std::chrono::steady_clock::time_point expires_{};
  int steps_in_flight_ = 0;
  std::set<std::string> held_;
  std::deque<v1::OperationRecord> autonomous_;
  std::condition_variable changed_;  // notified with generation_ bumped
  uint64_t generation_ = 0;
  bool stop_waiting_ = false;
  void NotifyLocked() {
    ++generation_;
    changed_.notify_all();
  }
};

}  // namespace failover::agent
