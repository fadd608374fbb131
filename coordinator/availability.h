// What users saw during a run: the global health check polled on its own thread while an executed
// run runs, folded into Report.availability (requests, failures, the unavailable windows).
// Pure room: the probe comes in as ProbeRunner, wall time as Clock.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

inline constexpr uint32_t kMaxAvailabilityWindows = 50;

// One request of the poll: when it started and ended, and whether the API answered healthy.
struct AvailabilitySample {
  int64_t start_unix_us = 0;
  int64_t end_unix_us = 0;
  bool healthy = false;
  std::string detail;
};

// Folds samples (in time order) into the availability block; bounded memory whatever the run's
// length: at most `max_windows` windows are kept (the longest always is), the rest are counted.
class AvailabilityTracker {
 public:
  AvailabilityTracker(std::string url, uint32_t interval_ms, uint32_t max_windows = kMaxAvailabilityWindows);
  void Add(const AvailabilitySample& sample);
  // The block so far; a window still open ends at the last request's end (open_ended).
  v1::Availability Result() const;

 private:
  void Close(v1::AvailabilityWindow w, v1::Availability* out) const;

  v1::Availability acc_;  // counts and the closed windows
  uint32_t max_windows_;
  int64_t first_start_ = 0;
  int64_t last_end_ = 0;
  std::optional<v1::AvailabilityWindow> open_;
};

// Polls `spec` (one attempt per request) every interval_ms from Start() until Stop(), on its own
// thread: never blocks a step; a request that hangs delays only the next request.
class AvailabilityPoller {
 public:
  AvailabilityPoller(ProbeRunner* runner, v1::ProbeSpec spec, uint32_t interval_ms, Clock* clock);
  ~AvailabilityPoller();
  AvailabilityPoller(const AvailabilityPoller&) = delete;
  AvailabilityPoller& operator=(const AvailabilityPoller&) = delete;

  void Start();
  // Stops the thread (after its request in flight) and returns the block.
  v1::Availability Stop();

 private:
  void Loop();

  ProbeRunner* runner_;
  v1::ProbeSpec spec_;
  uint32_t interval_ms_;
  Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  AvailabilityTracker tracker_;  // guarded by mu_
  std::thread thread_;
};

// The health check as one-attempt requests: no retry inside a request (the poll is the retry).
v1::ProbeSpec SingleAttempt(v1::ProbeSpec spec);

}  // namespace failover::coordinator
