// The Agent gRPC service in-process on loopback (plaintext, fakes behind it): refusals are
// audited; only the coordinator's renewals extend a lease.
#include "agent/agent_service.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "fakes.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "loopback_server.h"

namespace failover::agent {
namespace {

using failover::testing::FakeClock;
using failover::testing::FakeProbes;
using failover::testing::FakeSystemd;

// Every job takes 30 s of (fake) time: like an agent frozen mid-step, then resumed.
class SlowSystemd : public FakeSystemd {
 public:
  explicit SlowSystemd(FakeClock* clock) : clock_(clock) {}
  absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit, std::chrono::milliseconds t) override {
    clock_->Advance(std::chrono::seconds(30));
    return FakeSystemd::RunJob(kind, unit, t);
  }

 private:
  FakeClock* clock_;
};

class AgentServiceTest : public ::testing::Test {
 protected:
  AgentServiceTest() : systemd_(&clock_), lease_(&clock_, ""), audit_(AuditPath()) {
    std::remove(AuditPath().c_str());
    config_.host = "api";
    config_.insecure_plaintext = true;
    config_.allowlist = *UnitAllowlist::Create({"sls-*.service"});
    systemd_.AddUnit("sls-api.service", "active", 42);
    service_ = std::make_unique<AgentService>(config_, &systemd_, &probes_, &lease_, &audit_);
    server_ = std::make_unique<failover::testing::LoopbackServer>(service_.get());
    stub_ = v1::Agent::NewStub(server_->Channel());
  }
  // One file per test process: ctest -j runs this suite's tests side by side, and a shared path
  // let one test's set-up remove the log another was about to read.
  static std::string AuditPath() {
    return ::testing::TempDir() + "/agent-service-audit-" + std::to_string(getpid()) + ".log";
  }
  static std::string Audit() {
    std::ifstream in(AuditPath());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // `wire`: the messages as they arrived (a batch carries the events after its first in `more`).
  grpc::Status Execute(const v1::ExecuteRequest& req, std::vector<v1::AgentEvent>* wire = nullptr) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub_->Execute(&ctx, req);
    v1::AgentEvent e;
    while (reader->Read(&e)) {
      if (wire != nullptr) wire->push_back(e);
    }
    return reader->Finish();
  }
  static std::vector<v1::AgentEvent::Kind> Kinds(const std::vector<v1::AgentEvent>& wire) {
    std::vector<v1::AgentEvent::Kind> kinds;
    for (const auto& e : wire) {
      kinds.push_back(e.kind());
      for (const auto& m : e.more()) kinds.push_back(m.kind());
    }
    return kinds;
  }
  static v1::ExecuteRequest Stop() {
    v1::ExecuteRequest r;
    r.set_run_id("run-1");
    r.set_step_id("01-stop");
    r.set_operation(v1::OPERATION_STOP);
    r.add_units("sls-api.service");
    r.set_job_timeout_ms(1000);
    r.set_lease_ms(10000);
    return r;
  }

  FakeClock clock_;
  SlowSystemd systemd_;
  FakeProbes probes_;
  HostLease lease_;
  AuditLog audit_;
  AgentConfig config_;
  std::unique_ptr<AgentService> service_;
  std::unique_ptr<failover::testing::LoopbackServer> server_;
  std::unique_ptr<v1::Agent::Stub> stub_;
};

TEST_F(AgentServiceTest, RefusedRequestsGoToTheAuditLogWithCallerPeerAndReason) {
  grpc::ClientContext ctx;
  v1::GetStateRequest req;
  req.add_units("sshd.service");
  v1::GetStateResponse resp;
  EXPECT_EQ(stub_->GetState(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);

  v1::ExecuteRequest smuggled = Stop();
  smuggled.set_run_id("../../etc/passwd");
  EXPECT_EQ(Execute(smuggled).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string text = Audit();
  EXPECT_NE(text.find("\"event\":\"refused\",\"caller\":\"plaintext:ipv4:127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find("\"peer\":\"ipv4:127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find("\"rpc\":\"GetState\",\"request\":\"run= step= units=sshd.service\""), std::string::npos)
      << text;
  EXPECT_NE(text.find("\"rpc\":\"Execute\",\"request\":\"run=../../etc/passwd step=01-stop"), std::string::npos)
      << text;
  EXPECT_NE(text.find("run_id may hold only"), std::string::npos) << text;
  EXPECT_TRUE(systemd_.journal().empty());
}

// A stop step's events (StepRunner::Run), however they travel.
const std::vector<v1::AgentEvent::Kind> kStopStepEvents = {v1::AgentEvent::INITIAL_STATE, v1::AgentEvent::JOB_ISSUED,
                                                           v1::AgentEvent::JOB_DONE, v1::AgentEvent::FINAL_STATE,
                                                           v1::AgentEvent::STEP_DONE};

TEST_F(AgentServiceTest, ACallerThatDoesNotAskForBatchesGetsOneEventPerMessage) {
  std::vector<v1::AgentEvent> wire;
  ASSERT_TRUE(Execute(Stop(), &wire).ok());
  for (const auto& e : wire) EXPECT_EQ(e.more_size(), 0) << "a coordinator older than batch_events would lose these";
  EXPECT_EQ(Kinds(wire), kStopStepEvents);
}

TEST_F(AgentServiceTest, ACallerThatAsksForBatchesGetsTheSameEventsInOrderOneLevelDeep) {
  v1::ExecuteRequest req = Stop();
  req.set_batch_events(true);
  std::vector<v1::AgentEvent> wire;
  ASSERT_TRUE(Execute(req, &wire).ok());
  EXPECT_EQ(Kinds(wire), kStopStepEvents);
  for (const auto& e : wire)
    for (const auto& m : e.more()) EXPECT_EQ(m.more_size(), 0) << "batches are one level deep";
}

TEST_F(AgentServiceTest, FinishingAStepDoesNotExtendTheLease) {
  ASSERT_TRUE(Execute(Stop()).ok());
  ASSERT_EQ(systemd_.journal(), std::vector<std::string>{"stop sls-api.service"});
  // The stop took 30 s, the lease is 10 s and nobody renewed it: it ran out at once.
  auto [run, units] = lease_.TakeExpired();
  EXPECT_EQ(run, "run-1") << "the end of a step renewed the lease";
  EXPECT_EQ(units, std::vector<std::string>{"sls-api.service"});
}

grpc::Status InjectFault(v1::Agent::Stub* stub, const std::string& unit, v1::ChaosSignal signal, bool dry_run,
                         v1::ChaosInjectFaultResponse* resp) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::ChaosInjectFaultRequest req;
  req.set_run_id("chaos-1");
  req.set_unit(unit);
  req.set_signal(signal);
  req.set_dry_run(dry_run);
  return stub->InjectFault(&ctx, req, resp);
}

TEST_F(AgentServiceTest, InjectFaultOffTheAllowlistIsRefusedAuditedAndKillsNothing) {
  v1::ChaosInjectFaultResponse resp;
  EXPECT_EQ(InjectFault(stub_.get(), "sshd.service", v1::CHAOS_SIGNAL_KILL, false, &resp).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  const std::string text = Audit();
  EXPECT_NE(text.find("\"rpc\":\"InjectFault\",\"request\":\"run=chaos-1 unit=sshd.service"), std::string::npos)
      << text;
  EXPECT_TRUE(systemd_.journal().empty());
}

TEST_F(AgentServiceTest, InjectFaultWithoutASignalIsRefusedAsInvalid) {
  v1::ChaosInjectFaultResponse resp;
  EXPECT_EQ(InjectFault(stub_.get(), "sls-api.service", v1::CHAOS_SIGNAL_UNSPECIFIED, false, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(systemd_.journal().empty());
}

TEST_F(AgentServiceTest, InjectFaultKillsAnAllowedUnitThroughSystemdAndAuditsItFirst) {
  v1::ChaosInjectFaultResponse resp;
  ASSERT_TRUE(InjectFault(stub_.get(), "sls-api.service", v1::CHAOS_SIGNAL_TERM, false, &resp).ok());
  EXPECT_EQ(systemd_.journal(), std::vector<std::string>{"kill all SIGTERM sls-api.service"});
  EXPECT_EQ(resp.before().main_pid(), 42u);
  EXPECT_GT(resp.sent_at_unix_us(), 0);
  const std::string text = Audit();
  EXPECT_NE(text.find("kill-term"), std::string::npos) << text;
}

TEST_F(AgentServiceTest, InjectFaultDryRunSaysWhatItWouldDoAndKillsNothing) {
  v1::ChaosInjectFaultResponse resp;
  ASSERT_TRUE(InjectFault(stub_.get(), "sls-api.service", v1::CHAOS_SIGNAL_KILL, true, &resp).ok());
  EXPECT_NE(resp.message().find("would send SIGKILL to sls-api.service"), std::string::npos) << resp.message();
  EXPECT_EQ(resp.sent_at_unix_us(), 0);
  EXPECT_TRUE(systemd_.journal().empty());
}

v1::GetStateRequest ReadAndRelease(const std::string& run) {
  v1::GetStateRequest req;
  req.set_run_id(run);
  req.add_units("sls-api.service");
  req.set_release(true);
  return req;
}

TEST_F(AgentServiceTest, GetStateWithReleaseReadsTheUnitsWhileHeldThenReleasesAndStartsWhatTheRunHeld) {
  v1::ExecuteRequest stop = Stop();
  stop.set_lease_ms(600000);  // outlasts the slow (30 s) stop
  ASSERT_TRUE(Execute(stop).ok());
  ASSERT_EQ(lease_.holder(), "run-1");
  grpc::ClientContext ctx;
  v1::GetStateResponse resp;
  ASSERT_TRUE(stub_->GetState(&ctx, ReadAndRelease("run-1"), &resp).ok());
  ASSERT_EQ(resp.units_size(), 1);
  EXPECT_EQ(resp.units(0).active_state(), "inactive") << "read before the release restarted it";
  EXPECT_EQ(resp.held_by_run(), "run-1");
  EXPECT_TRUE(resp.release_done());
  EXPECT_EQ(lease_.holder(), "");
  EXPECT_EQ(systemd_.journal(), (std::vector<std::string>{"stop sls-api.service", "start sls-api.service"}))
      << "the unit the run still held stopped is started on release";
}

TEST_F(AgentServiceTest, GetStateWithReleaseLeavesAnotherRunsLeaseAlone) {
  ASSERT_TRUE(lease_.Acquire("run-1", std::chrono::seconds(60)).ok());
  grpc::ClientContext ctx;
  v1::GetStateResponse resp;
  ASSERT_TRUE(stub_->GetState(&ctx, ReadAndRelease("run-2"), &resp).ok());
  EXPECT_EQ(resp.units_size(), 1);
  EXPECT_TRUE(resp.release_done());
  EXPECT_EQ(lease_.holder(), "run-1") << "run-2 released a lease it never held";
}

TEST_F(AgentServiceTest, AConditionalReleaseKeepsTheLeaseWhileANamedUnitIsNotActive) {
  v1::ExecuteRequest stop = Stop();
  stop.set_lease_ms(600000);
  ASSERT_TRUE(Execute(stop).ok());
  v1::GetStateRequest req = ReadAndRelease("run-1");
  req.add_release_only_if_active("sls-api.service");
  grpc::ClientContext ctx;
  v1::GetStateResponse resp;
  ASSERT_TRUE(stub_->GetState(&ctx, req, &resp).ok());
  EXPECT_FALSE(resp.release_done());
  EXPECT_EQ(lease_.holder(), "run-1") << "the run still has a unit to recover";
  EXPECT_EQ(systemd_.journal(), std::vector<std::string>{"stop sls-api.service"}) << "nothing restarted";

  systemd_.AddUnit("sls-api.service", "active", 43);  // recovered
  grpc::ClientContext again;
  ASSERT_TRUE(stub_->GetState(&again, req, &resp).ok());
  EXPECT_TRUE(resp.release_done());
  EXPECT_EQ(lease_.holder(), "");
}

TEST_F(AgentServiceTest, AConditionalReleaseNamingAUnitItDoesNotReadIsRefused) {
  ASSERT_TRUE(lease_.Acquire("run-1", std::chrono::seconds(60)).ok());
  v1::GetStateRequest req = ReadAndRelease("run-1");
  req.add_release_only_if_active("sls-bot.service");
  grpc::ClientContext ctx;
  v1::GetStateResponse resp;
  EXPECT_EQ(stub_->GetState(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lease_.holder(), "run-1");
}

TEST_F(AgentServiceTest, GetStateThatReservesAndReleasesAtOnceIsRefusedAndAudited) {
  grpc::ClientContext ctx;
  v1::GetStateRequest req = ReadAndRelease("run-1");
  req.set_reserve_lease_ms(10000);
  v1::GetStateResponse resp;
  EXPECT_EQ(stub_->GetState(&ctx, req, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(lease_.holder(), "") << "nothing reserved";
  EXPECT_NE(Audit().find("release and reserve_lease_ms together"), std::string::npos) << Audit();
}

}  // namespace
}  // namespace failover::agent
