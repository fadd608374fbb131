#include "coordinator/deadline_watch.h"

#include <atomic>
#include <thread>

#include "absl/time/clock.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

TEST(DeadlineWatch, FiresOnceAtItsTime) {
  std::atomic<int> fired{0};
  {
    DeadlineWatch w(absl::Now() + absl::Milliseconds(50), [&] { ++fired; });
    for (int i = 0; i < 100 && fired == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(fired, 1);
}

TEST(DeadlineWatch, DestroyedBeforeItsTimeNeverFires) {
  std::atomic<int> fired{0};
  { DeadlineWatch w(absl::Now() + absl::Seconds(30), [&] { ++fired; }); }
  EXPECT_EQ(fired, 0);
}

}  // namespace
}  // namespace failover::coordinator
