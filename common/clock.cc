#include "failover/clock.h"

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace failover {

int64_t RealClock::NowUnixUs() { return absl::ToUnixMicros(absl::Now()); }
std::chrono::steady_clock::time_point RealClock::Now() { return std::chrono::steady_clock::now(); }
void RealClock::SleepFor(std::chrono::microseconds d) { std::this_thread::sleep_for(d); }
RealClock* RealClock::Get() {
  static RealClock clock;
  return &clock;
}

std::string FormatUnixUs(int64_t unix_us) {
  if (unix_us <= 0) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

std::string CompactUtcStamp(int64_t unix_us) {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

int64_t MicrosSince(std::chrono::steady_clock::time_point start,
                    std::chrono::steady_clock::time_point end) {
  return std::chrono::duration_cast<std::chrono::microseconds>(end - start).count();
}

}  // namespace failover
