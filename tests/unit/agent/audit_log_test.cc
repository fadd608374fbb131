// Audit before action, or no action; refused requests are audited with caller and peer.
#include "agent/audit_log.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "agent/step_runner.h"
#include "fakes.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using failover::testing::FakeClock;
using failover::testing::FakeProbes;
using failover::testing::FakeSystemd;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

v1::ExecuteRequest Restart(const std::string& unit) {
  v1::ExecuteRequest r;
  r.set_run_id("run-1");
  r.set_step_id("01-restart");
  r.set_operation(v1::OPERATION_RESTART);
  r.add_units(unit);
  r.set_job_timeout_ms(1000);
  r.set_lease_ms(10000);
  return r;
}

struct Bench {
  explicit Bench(const std::string& audit_path) : lease(&clock, ""), audit(audit_path),
      runner("api", &systemd, &probes, &lease, &audit, &clock) {
    systemd.AddUnit("sls-api.service", "active", 42);
  }
  v1::AgentEvent Run(const v1::ExecuteRequest& r) {
    EXPECT_TRUE(lease.Acquire(r.run_id(), std::chrono::milliseconds(r.lease_ms())).ok());
    return runner.Run(r, "coordinator", [](v1::AgentEvent) {});
  }
  FakeClock clock;
  FakeSystemd systemd;
  FakeProbes probes;
  HostLease lease;
  AuditLog audit;
  StepRunner runner;
};

TEST(AuditLog, RefusesTheStepWhenTheLogCannotBeWritten) {
  Bench b("/dev/full");  // every write: No space left on device
  v1::AgentEvent done = b.Run(Restart("sls-api.service"));
  EXPECT_FALSE(done.ok());
  EXPECT_TRUE(b.systemd.journal().empty()) << "no job may run without its audit entry";
  EXPECT_EQ(b.systemd.GetUnitState("sls-api.service")->main_pid(), 42u);
  EXPECT_NE(done.message().find("/dev/full"), std::string::npos) << done.message();
  EXPECT_NE(done.message().find("No space left on device"), std::string::npos) << done.message();
  EXPECT_TRUE(b.lease.held_units().empty());
}

TEST(AuditLog, RefusesTheStepWhenTheLogCannotBeOpened) {
  Bench b("/nonexistent-failover-dir/audit.log");
  v1::AgentEvent done = b.Run(Restart("sls-api.service"));
  EXPECT_FALSE(done.ok());
  EXPECT_TRUE(b.systemd.journal().empty());
  EXPECT_NE(done.message().find("cannot open audit log /nonexistent-failover-dir/audit.log"), std::string::npos)
      << done.message();
}

TEST(AuditLog, TheAgentsOwnRestoreStartsTheUnitEvenWithoutAnAuditEntry) {
  Bench b("/dev/full");
  b.systemd.AddUnit("sls-bot.service", "inactive");
  b.runner.RestoreUnits("run-1", {"sls-bot.service"}, "lease expired");
  EXPECT_EQ(b.systemd.GetUnitState("sls-bot.service")->active_state(), "active")
      << "bringing a unit back beats an audit line";
}

TEST(AuditLog, WritesBeginAndEndOfEveryJob) {
  const std::string path = ::testing::TempDir() + "/audit-jobs.log";
  std::remove(path.c_str());
  Bench b(path);
  EXPECT_TRUE(b.Run(Restart("sls-api.service")).ok());
  const std::string text = ReadAll(path);
  EXPECT_NE(text.find("\"operation\":\"stop\",\"phase\":\"begin\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"operation\":\"start\",\"phase\":\"end\",\"result\":\"done\""), std::string::npos) << text;
}

TEST(AuditLog, WritesOneJsonLinePerRefusalWithCallerPeerAndReason) {
  const std::string path = ::testing::TempDir() + "/audit-refusal.log";
  std::remove(path.c_str());
  AuditLog audit(path);
  ASSERT_TRUE(audit.RecordRefusal({"intruder", "ipv4:10.77.0.1:5555", "Execute", "run=r1 step=s1 units=sshd.service",
                                   "unit \"sshd.service\" is not in the allowlist"}).ok());
  const std::string text = ReadAll(path);
  EXPECT_NE(text.find("\"event\":\"refused\",\"caller\":\"intruder\",\"peer\":\"ipv4:10.77.0.1:5555\","
                      "\"rpc\":\"Execute\",\"request\":\"run=r1 step=s1 units=sshd.service\","
                      "\"reason\":\"unit \\\"sshd.service\\\" is not in the allowlist\"}"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
}

}  // namespace
}  // namespace failover::agent
