// The D-Bus reconnect loop ends by the job's deadline (the loop itself needs a bus; its policy
// is pure and tested here).
#include "agent/dbus_systemd_manager.h"

#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using std::chrono::milliseconds;

TEST(DbusReconnect, EveryRetryLoopEndsByTheJobsDeadline) {
  const SteadyTime start{};
  const SteadyTime deadline = start + milliseconds(3000);  // a 3 s job timeout
  SteadyTime now = start;
  int attempts = 0;
  while (auto backoff = ReconnectBackoff(attempts, now, deadline)) {
    now += *backoff + milliseconds(10);  // the failed call itself takes a little
    ++attempts;
  }
  EXPECT_LE(now, deadline) << "the loop slept past the deadline";
  EXPECT_GT(attempts, 5) << "it still retries while time is left";
}

TEST(DbusReconnect, WithoutADeadlineItStillGivesUpAfterTwentyAttempts) {
  const SteadyTime start{};
  const SteadyTime far = start + std::chrono::hours(1);
  SteadyTime now = start;
  int attempts = 0;
  while (auto backoff = ReconnectBackoff(attempts, now, far)) {
    now += *backoff;
    ++attempts;
  }
  EXPECT_EQ(attempts, 20);
  EXPECT_LT(now - start, std::chrono::seconds(13));
}

TEST(DbusReconnect, OneCallNeverWaitsPastTheDeadline) {
  const SteadyTime now{};
  EXPECT_EQ(CallTimeoutUntil(now, now + milliseconds(250)), milliseconds(250));
  EXPECT_EQ(CallTimeoutUntil(now, now + std::chrono::minutes(5)), std::chrono::seconds(10));
  EXPECT_EQ(CallTimeoutUntil(now, now - milliseconds(5)), milliseconds(1));
}

}  // namespace
}  // namespace failover::agent
