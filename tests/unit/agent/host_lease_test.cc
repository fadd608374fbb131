// The host lock and the lease: who may act, when held units come back, what survives a restart.
#include "agent/host_lease.h"

#include <cstdio>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include "agent/step_runner.h"

#include "fakes.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using failover::testing::FakeClock;

TEST(HostLease, SecondRunIsRefusedNamingTheHolderUntilTheLeaseEnds) {
  FakeClock clock;
  HostLease lease(&clock, "");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
  absl::Status s = lease.Acquire("run-b", std::chrono::seconds(5));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("run-a"), std::string::npos);
  clock.Advance(std::chrono::seconds(6));
  EXPECT_TRUE(lease.Acquire("run-b", std::chrono::seconds(5)).ok());
}

TEST(HostLease, RefusesToHoldWhenTheStateFileCannotBeWritten) {
  FakeClock clock;
  HostLease lease(&clock, "/nonexistent-failover-dir/lease");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
  absl::Status s = lease.Hold("sls-api.service");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("/nonexistent-failover-dir/lease"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file or directory"), std::string::npos) << s.message();
  EXPECT_TRUE(lease.held_units().empty()) << "a hold that is not on disk is no hold";
}

TEST(HostLease, PersistedHoldsAreReadBackOnceAfterARestart) {
  const std::string file = ::testing::TempDir() + "/lease-persist-test";
  std::remove(file.c_str());
  FakeClock clock;
  {
    HostLease lease(&clock, file);
    ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
    ASSERT_TRUE(lease.Hold("sls-api.service").ok());
  }
  HostLease restarted(&clock, file);
  auto [run, units] = restarted.TakePersisted();
  EXPECT_EQ(run, "run-a");
  EXPECT_EQ(units, std::vector<std::string>{"sls-api.service"});
  EXPECT_TRUE(restarted.TakePersisted().second.empty());
}

TEST(HostLease, ALateRenewalDoesNotReviveAnExpiredLease) {
  FakeClock clock;
  HostLease lease(&clock, "");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
  ASSERT_TRUE(lease.Hold("sls-api.service").ok());
  clock.Advance(std::chrono::seconds(6));  // e.g. the agent was frozen; the watcher has not run yet
  absl::Status renew = lease.Renew("run-a", std::chrono::seconds(5));
  EXPECT_EQ(renew.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(renew.message().find("expired"), std::string::npos) << renew.message();
  EXPECT_EQ(lease.Acquire("run-a", std::chrono::seconds(5)).code(), absl::StatusCode::kFailedPrecondition);
  auto [run, units] = lease.TakeExpired();
  EXPECT_EQ(run, "run-a");
  EXPECT_EQ(units, std::vector<std::string>{"sls-api.service"});
}

TEST(HostLease, ARunningStepKeepsTheLeaseRenewable) {
  FakeClock clock;
  HostLease lease(&clock, "");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
  lease.BeginStep();
  clock.Advance(std::chrono::seconds(6));
  EXPECT_TRUE(lease.TakeExpired().first.empty()) << "no expiry under a running step";
  EXPECT_TRUE(lease.Renew("run-a", std::chrono::seconds(5)).ok());
  lease.EndStep();
  clock.Advance(std::chrono::seconds(4));
  EXPECT_TRUE(lease.TakeExpired().first.empty());
}

TEST(HostLease, EndingAStepDoesNotExtendTheLease) {
  FakeClock clock;
  HostLease lease(&clock, "");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::seconds(5)).ok());
  lease.BeginStep();
  clock.Advance(std::chrono::seconds(30));  // the step (or a frozen agent) outlasted the lease
  lease.EndStep();
  EXPECT_EQ(lease.TakeExpired().first, "run-a");
}

}  // namespace
}  // namespace failover::agent

namespace failover::agent {
namespace {

TEST(HostLease, AStopIsRefusedWhenItsHoldCannotBePersisted) {
  failover::testing::FakeClock clock;
  failover::testing::FakeSystemd systemd;
  failover::testing::FakeProbes probes;
  systemd.AddUnit("sls-api.service", "active", 42);
  HostLease lease(&clock, "/nonexistent-failover-dir/lease");
  AuditLog audit("");
  StepRunner runner("api", &systemd, &probes, &lease, &audit, &clock);
  v1::ExecuteRequest r;
  r.set_run_id("run-1");
  r.set_step_id("01-stop");
  r.set_operation(v1::OPERATION_STOP);
  r.add_units("sls-api.service");
  r.set_job_timeout_ms(1000);
  r.set_lease_ms(10000);
  ASSERT_TRUE(lease.Acquire("run-1", std::chrono::seconds(10)).ok());
  v1::AgentEvent done = runner.Run(r, "coordinator", [](v1::AgentEvent) {});
  EXPECT_FALSE(done.ok());
  EXPECT_TRUE(systemd.journal().empty()) << "what cannot be held must not be stopped";
  EXPECT_EQ(systemd.GetUnitState("sls-api.service")->main_pid(), 42u);
  EXPECT_NE(done.message().find("/nonexistent-failover-dir/lease"), std::string::npos) << done.message();
  EXPECT_NE(done.message().find("No such file or directory"), std::string::npos) << done.message();
}

TEST(HostLease, TheAgentsOwnOperationsSurviveAnAgentRestart) {
  char dir[] = "/tmp/failover-lease-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string file = std::string(dir) + "/lease";
  FakeClock clock;
  {
    HostLease lease(&clock, file);
    v1::OperationRecord op;
    op.set_run_id("run-a");
    op.set_unit("sls-api.service");
    op.set_autonomous(true);
    op.set_detail("agent stopping: it starts the units it held before it exits");
    lease.RecordAutonomous(op);
  }
  HostLease next(&clock, file);
  next.TakePersisted();
  auto ops = next.autonomous();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].run_id(), "run-a");
  EXPECT_EQ(ops[0].unit(), "sls-api.service");
  std::remove((file + ".autonomous").c_str());
  std::remove(file.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace failover::agent

namespace failover::agent {
namespace {

// The watcher's wait (instead of a 50 ms poll): it ends at the lease's expiry, when a run takes
// the host, when the last step ends, or when the watcher stops; an idle host does not wake it.
std::chrono::milliseconds TimeWaiting(HostLease& lease, std::chrono::milliseconds max_wait) {
  const auto t0 = std::chrono::steady_clock::now();
  lease.WaitForPossibleExpiry(max_wait);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
}

TEST(HostLease, TheWatchersWaitEndsAtTheLeasesExpiryNotLater) {
  HostLease lease(RealClock::Get(), "");
  ASSERT_TRUE(lease.Acquire("run-a", std::chrono::milliseconds(80)).ok());
  const auto waited = TimeWaiting(lease, std::chrono::seconds(10));
  EXPECT_GE(waited.count(), 60);
  EXPECT_LT(waited.count(), 2000);
  EXPECT_EQ(lease.TakeExpired().first, "run-a");
}

TEST(HostLease, TheWatchersWaitEndsWhenARunTakesTheHostOrTheLastStepEnds) {
  HostLease lease(RealClock::Get(), "");
  std::thread taker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)lease.Acquire("run-a", std::chrono::seconds(30));
  });
  EXPECT_LT(TimeWaiting(lease, std::chrono::seconds(10)).count(), 2000) << "idle until a run took the host";
  taker.join();
  lease.BeginStep();
  std::thread ender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lease.EndStep();
  });
  EXPECT_LT(TimeWaiting(lease, std::chrono::seconds(10)).count(), 2000) << "a step ended";
  ender.join();
}

TEST(HostLease, AnIdleHostDoesNotWakeTheWatcherUntilItStops) {
  HostLease lease(RealClock::Get(), "");
  EXPECT_GE(TimeWaiting(lease, std::chrono::milliseconds(150)).count(), 140) << "nothing held: waits the whole time";
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    lease.StopWaiting();
  });
  EXPECT_LT(TimeWaiting(lease, std::chrono::seconds(10)).count(), 2000);
  stopper.join();
  EXPECT_LT(TimeWaiting(lease, std::chrono::seconds(10)).count(), 100) << "after StopWaiting it returns at once";
}

}  // namespace
}  // namespace failover::agent
