#include "bench/simulated_systemd.h"

#include <gtest/gtest.h>

#include "fakes.h"

namespace failover::bench {
namespace {

SimulatedJobTimes Times(int stop_ms, int start_ms) {
  return {std::chrono::milliseconds(stop_ms), std::chrono::milliseconds(start_ms)};
}

TEST(SimulatedSystemd, KnowsItsUnitsAsLoadedAndActive) {
  testing::FakeClock clock;
  SimulatedSystemd sd({"bench.service"}, Times(50, 50), &clock);
  auto st = sd.GetUnitState("bench.service");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->load_state(), "loaded");
  EXPECT_EQ(st->active_state(), "active");
  EXPECT_GT(st->main_pid(), 0u);
  EXPECT_EQ(sd.GetUnitState("other.service")->load_state(), "not-found");
}

TEST(SimulatedSystemd, AStopAndAStartTakeTheirConfiguredTimeAndFlipTheState) {
  testing::FakeClock clock;
  SimulatedSystemd sd({"bench.service"}, Times(30, 70), &clock);
  const uint32_t pid = sd.GetUnitState("bench.service")->main_pid();
  const auto t0 = clock.Now();
  auto stop = sd.RunJob(JobKind::kStop, "bench.service", std::chrono::seconds(5));
  ASSERT_TRUE(stop.ok());
  EXPECT_EQ(stop->result, "done");
  EXPECT_EQ(stop->duration, std::chrono::milliseconds(30));
  EXPECT_EQ(sd.GetUnitState("bench.service")->active_state(), "inactive");
  auto start = sd.RunJob(JobKind::kStart, "bench.service", std::chrono::seconds(5));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->duration, std::chrono::milliseconds(70));
  EXPECT_EQ(clock.Now() - t0, std::chrono::milliseconds(100));
  auto st = sd.GetUnitState("bench.service");
  EXPECT_EQ(st->active_state(), "active");
  EXPECT_NE(st->main_pid(), pid);  // a new process, as after a real restart
  EXPECT_EQ(sd.jobs(), 2);
}

TEST(SimulatedSystemd, AJobLongerThanItsTimeoutIsADeadlineAndLeavesTheUnitAsItWas) {
  testing::FakeClock clock;
  SimulatedSystemd sd({"bench.service"}, Times(500, 50), &clock);
  auto stop = sd.RunJob(JobKind::kStop, "bench.service", std::chrono::milliseconds(100));
  EXPECT_EQ(stop.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(sd.GetUnitState("bench.service")->active_state(), "active");
  EXPECT_EQ(sd.jobs(), 0);
}

TEST(SimulatedSystemd, RefusesJobsOnUnknownUnits) {
  testing::FakeClock clock;
  SimulatedSystemd sd({"bench.service"}, Times(50, 50), &clock);
  EXPECT_EQ(sd.RunJob(JobKind::kStart, "nope.service", std::chrono::seconds(1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(sd.ResetFailed("nope.service").code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace failover::bench
