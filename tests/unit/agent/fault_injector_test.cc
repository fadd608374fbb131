// FaultInjector over FakeSystemd: the refusal paths leave the unit untouched.
#include "agent/fault_injector.h"

#include <cstdio>

#include "fakes.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using failover::testing::FakeClock;
using failover::testing::FakeSystemd;

class FaultInjectorTest : public ::testing::Test {
 protected:
  FaultInjectorTest() : lease_(&clock_, ""), audit_(""), injector_("api", &systemd_, &lease_, &audit_, &clock_) {
    systemd_.AddUnit("sls-bot.service", "active", 42);
  }
  static v1::ChaosInjectFaultRequest Kill(const std::string& unit = "sls-bot.service") {
    v1::ChaosInjectFaultRequest r;
    r.set_run_id("chaos-1");
    r.set_unit(unit);
    r.set_signal(v1::CHAOS_SIGNAL_KILL);
    return r;
  }
  FakeClock clock_;
  FakeSystemd systemd_;
  HostLease lease_;
  AuditLog audit_;
  FaultInjector injector_;
};

TEST_F(FaultInjectorTest, AHostHeldByAnotherRunIsRefusedAndNothingIsKilled) {
  ASSERT_TRUE(lease_.Acquire("run-other", std::chrono::seconds(60)).ok());
  auto r = injector_.Inject(Kill(), "coordinator");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("run-other"), std::string::npos) << r.status();
  EXPECT_TRUE(systemd_.journal().empty());
}

TEST_F(FaultInjectorTest, AUnitThatIsNotActiveIsRefusedAsNothingToKill) {
  systemd_.AddUnit("sls-bot.service", "inactive");
  auto r = injector_.Inject(Kill(), "coordinator");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not active"), std::string::npos) << r.status();
  EXPECT_TRUE(systemd_.journal().empty());
}

TEST_F(FaultInjectorTest, AnAuditLogThatCannotBeWrittenRefusesTheKill) {
  AuditLog broken("/nonexistent-dir/audit.log");
  FaultInjector injector("api", &systemd_, &lease_, &broken, &clock_);
  auto r = injector.Inject(Kill(), "coordinator");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit"), std::string::npos) << r.status();
  EXPECT_TRUE(systemd_.journal().empty());
}

TEST_F(FaultInjectorTest, ValidationRefusesAUnitOffTheAllowlistAndAnUnknownSignal) {
  const UnitAllowlist allow = *UnitAllowlist::Create({"sls-*.service"});
  EXPECT_EQ(ValidateInjectFaultRequest(Kill("sshd.service"), allow).code(), absl::StatusCode::kPermissionDenied);
  v1::ChaosInjectFaultRequest bad = Kill();
  bad.set_signal(static_cast<v1::ChaosSignal>(9));
  EXPECT_EQ(ValidateInjectFaultRequest(bad, allow).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateInjectFaultRequest(Kill(), allow).ok());
}

TEST_F(FaultInjectorTest, TheKillGoesToEveryProcessOfTheUnitWithTheRequestedSignal) {
  v1::ChaosInjectFaultRequest req = Kill();
  req.set_signal(v1::CHAOS_SIGNAL_ABRT);
  auto r = injector_.Inject(req, "coordinator");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(systemd_.journal(), std::vector<std::string>{"kill all SIGABRT sls-bot.service"});
  EXPECT_EQ(r->before().main_pid(), 42u);
}

}  // namespace
}  // namespace failover::agent
