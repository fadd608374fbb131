#include "coordinator/availability.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

AvailabilitySample At(int64_t start_ms, bool healthy, const std::string& detail = "") {
  return {start_ms * 1000, start_ms * 1000 + 5000, healthy, detail.empty() ? (healthy ? "HTTP 200" : "HTTP 503") : detail};
}

TEST(AvailabilityTracker, AllHealthyRequestsGiveNoWindow) {
  AvailabilityTracker t("http://api/health", 100);
  for (int i = 0; i < 5; ++i) t.Add(At(i * 100, true));
  v1::Availability a = t.Result();
  EXPECT_EQ(a.requests(), 5u);
  EXPECT_EQ(a.failures(), 0u);
  EXPECT_EQ(a.windows_size(), 0);
  EXPECT_FALSE(a.has_longest());
  EXPECT_EQ(a.observed_us(), 405'000);
  EXPECT_EQ(a.url(), "http://api/health");
  EXPECT_EQ(a.interval_ms(), 100u);
}

TEST(AvailabilityTracker, AWindowRunsFromTheFirstFailureToTheNextHealthyRequest) {
  AvailabilityTracker t("u", 100);
  t.Add(At(0, true));
  t.Add(At(100, false, "connection refused"));
  t.Add(At(200, false));
  t.Add(At(300, true));
  t.Add(At(400, false));
  t.Add(At(500, true));
  v1::Availability a = t.Result();
  EXPECT_EQ(a.requests(), 6u);
  EXPECT_EQ(a.failures(), 3u);
  ASSERT_EQ(a.windows_size(), 2);
  EXPECT_EQ(a.windows(0).start_unix_us(), 100'000);
  EXPECT_EQ(a.windows(0).end_unix_us(), 300'000);
  EXPECT_EQ(a.windows(0).duration_us(), 200'000);
  EXPECT_EQ(a.windows(0).failures(), 2u);
  EXPECT_EQ(a.windows(0).detail(), "connection refused");
  EXPECT_EQ(a.windows(1).duration_us(), 100'000);
  EXPECT_EQ(a.longest().start_unix_us(), 100'000);
  EXPECT_EQ(a.unavailable_us(), 300'000);
}

TEST(AvailabilityTracker, AWindowStillOpenAtTheEndIsOpenEndedToTheLastRequest) {
  AvailabilityTracker t("u", 100);
  t.Add(At(0, true));
  t.Add(At(100, false));
  t.Add(At(200, false));
  v1::Availability a = t.Result();
  ASSERT_EQ(a.windows_size(), 1);
  EXPECT_TRUE(a.windows(0).open_ended());
  EXPECT_EQ(a.windows(0).end_unix_us(), 205'000);
  EXPECT_TRUE(a.longest().open_ended());
}

TEST(AvailabilityTracker, KeepsAtMostMaxWindowsButAlwaysTheLongestAndCountsTheRest) {
  AvailabilityTracker t("u", 100, /*max_windows=*/2);
  int64_t ms = 0;
  for (int w = 0; w < 5; ++w) {
    const int fails = w == 4 ? 3 : 1;  // the last window is the longest
    for (int f = 0; f < fails; ++f) t.Add(At(ms += 100, false));
    t.Add(At(ms += 100, true));
  }
  v1::Availability a = t.Result();
  EXPECT_EQ(a.windows_size(), 2);
  EXPECT_EQ(a.windows_dropped(), 3u);
  EXPECT_EQ(a.longest().failures(), 3u);
  EXPECT_EQ(a.longest().duration_us(), 300'000);
  EXPECT_EQ(a.unavailable_us(), 4 * 100'000 + 300'000);
}

TEST(AvailabilityPoller, AsksForOneAttemptPerRequest) {
  v1::ProbeSpec spec;
  spec.set_timeout_ms(2000);
  spec.set_deadline_ms(10000);
  spec.set_interval_ms(100);
  v1::ProbeSpec once = SingleAttempt(spec);
  EXPECT_EQ(once.deadline_ms(), 0u);
  EXPECT_GT(once.interval_ms(), once.timeout_ms());
}

// Answers unhealthy between two moments (real time), healthy otherwise.
class DownBetween : public ProbeRunner {
 public:
  DownBetween(std::chrono::milliseconds from, std::chrono::milliseconds to)
      : t0_(std::chrono::steady_clock::now()), from_(from), to_(to) {}
  v1::ProbeResult Run(const v1::ProbeSpec& spec) override {
    ++calls;
    EXPECT_EQ(spec.deadline_ms(), 0u);
    const auto t = std::chrono::steady_clock::now() - t0_;
    v1::ProbeResult r;
    r.set_healthy(t < from_ || t >= to_);
    r.set_detail(r.healthy() ? "HTTP 200" : "HTTP 503");
    return r;
  }
  std::atomic<int> calls{0};

 private:
  std::chrono::steady_clock::time_point t0_;
  std::chrono::milliseconds from_, to_;
};

TEST(AvailabilityPoller, PollsOnItsOwnThreadAtTheIntervalAndStopsWhenAsked) {
  DownBetween api(std::chrono::milliseconds(150), std::chrono::milliseconds(350));
  AvailabilityPoller poller(&api, v1::ProbeSpec(), 20, RealClock::Get());
  poller.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  v1::Availability a = poller.Stop();
  const int calls = api.calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(api.calls, calls);  // stopped
  EXPECT_GE(a.requests(), 10u);
  EXPECT_LE(a.requests(), 27u);  // paced at 20 ms, not a busy loop
  ASSERT_GE(a.windows_size(), 1);
  EXPECT_FALSE(a.longest().open_ended());
  EXPECT_GE(a.longest().duration_us(), 150'000);
  EXPECT_LE(a.longest().duration_us(), 280'000);
}

}  // namespace
}  // namespace failover::coordinator
