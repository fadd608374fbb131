// A simulated systemd behind the agent's SystemdManager interface, for benchmarks (make
// bench-scale): units are known by name, a stop or start takes a configured time on the injected
// Clock and then leaves the unit inactive or active (a new MainPID per start). No D-Bus.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "failover/clock.h"
#include "failover/systemd_manager.h"

namespace failover::bench {

struct SimulatedJobTimes {
  std::chrono::milliseconds stop{50};
  std::chrono::milliseconds start{50};
};

class SimulatedSystemd : public SystemdManager {
 public:
  // `units` start loaded and active (TimeoutStart/StopUSec 90 s, as systemd's default).
  SimulatedSystemd(const std::vector<std::string>& units, SimulatedJobTimes times, Clock* clock);

  absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) override;
  // Waits the job's time on the clock, then changes the unit's state; "done". A job that would
  // take longer than `timeout` waits `timeout` and answers DEADLINE_EXCEEDED, the unit unchanged.
  absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit, std::chrono::milliseconds timeout) override;
  absl::Status ResetFailed(const std::string& unit) override;

  // Jobs run so far (stop and start each count one).
  int jobs() const;

 private:
  SimulatedJobTimes times_;
  Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, v1::UnitState> units_;
  uint32_t next_pid_ = 1000;
  int jobs_ = 0;
};

}  // namespace failover::bench
