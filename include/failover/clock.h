// Time as an adapter: real clock in binaries, fake clock in unit tests.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace failover {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall clock, microseconds since the Unix epoch (for reports).
  virtual int64_t NowUnixUs() = 0;
  // Monotonic clock (for durations and deadlines).
  virtual std::chrono::steady_clock::time_point Now() = 0;
  virtual void SleepFor(std::chrono::microseconds d) = 0;
};

class RealClock : public Clock {
 public:
  int64_t NowUnixUs() override;
  std::chrono::steady_clock::time_point Now() override;
  void SleepFor(std::chrono::microseconds d) override;
  // One shared instance; stateless.
  static RealClock* Get();
};

// "2026-11-29T10:15:00.123Z".
std::string FormatUnixUs(int64_t unix_us);
// "20261129T101500Z" for file names.
std::string CompactUtcStamp(int64_t unix_us);
int64_t MicrosSince(std::chrono::steady_clock::time_point start,
                    std::chrono::steady_clock::time_point end);

}  // namespace failover
