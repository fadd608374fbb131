#include "agent/step_runner.h"

#include "agent/agent_config.h"
#include "failover/unit_state.h"

#include "fakes.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

using failover::testing::FakeClock;
using failover::testing::FakeProbes;
using failover::testing::FakeSystemd;

class StepRunnerTest : public ::testing::Test {
 protected:
  StepRunnerTest() : lease_(&clock_, ""), audit_(""), runner_("api", &systemd_, &probes_, &lease_, &audit_, &clock_) {
    systemd_.AddUnit("sls-api.service", "active", 42);
    systemd_.AddUnit("sls-bot.service", "inactive");
  }
  v1::ExecuteRequest Request(v1::Operation op, const std::string& unit, bool dry_run = false) {
    v1::ExecuteRequest r;
    r.set_run_id("run-1");
    r.set_step_id("01-restart");
    r.set_operation(op);
    r.add_units(unit);
    r.set_dry_run(dry_run);
    r.set_job_timeout_ms(1000);
    r.set_lease_ms(10000);
    return r;
  }
  std::vector<v1::AgentEvent> Run(const v1::ExecuteRequest& r) {
    std::vector<v1::AgentEvent> events;
    EXPECT_TRUE(lease_.Acquire(r.run_id(), std::chrono::milliseconds(r.lease_ms())).ok());
    runner_.Run(r, "test", [&](v1::AgentEvent e) { events.push_back(e); });
    return events;
  }
  FakeClock clock_;
  FakeSystemd systemd_;
  FakeProbes probes_;
  HostLease lease_;
  AuditLog audit_;
  StepRunner runner_;
};

TEST_F(StepRunnerTest, RestartStopsThenStartsAndReportsNewPid) {
  auto events = Run(Request(v1::OPERATION_RESTART, "sls-api.service"));
  EXPECT_EQ(systemd_.journal(), (std::vector<std::string>{"stop sls-api.service", "start sls-api.service"}));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind(), v1::AgentEvent::INITIAL_STATE);
  EXPECT_EQ(events.front().state().main_pid(), 42u);
  EXPECT_EQ(events.back().kind(), v1::AgentEvent::STEP_DONE);
  EXPECT_TRUE(events.back().ok());
  const auto& final_state = events[events.size() - 2];
  EXPECT_EQ(final_state.kind(), v1::AgentEvent::FINAL_STATE);
  EXPECT_NE(final_state.state().main_pid(), 42u);
  EXPECT_TRUE(lease_.held_units().empty());
}

TEST_F(StepRunnerTest, DryRunChangesNothingAndSaysWhatItWouldDo) {
  auto events = Run(Request(v1::OPERATION_RESTART, "sls-api.service", /*dry_run=*/true));
  EXPECT_TRUE(systemd_.journal().empty());
  int would = 0;
  for (const auto& e : events)
    if (e.kind() == v1::AgentEvent::WOULD_RUN) {
      ++would;
      EXPECT_EQ(e.operation().result(), "would-run");
    }
  EXPECT_EQ(would, 2);
  EXPECT_TRUE(events.back().ok());
}

TEST_F(StepRunnerTest, StopOfAnInactiveUnitDoesNothing) {
  auto events = Run(Request(v1::OPERATION_STOP, "sls-bot.service"));
  EXPECT_TRUE(systemd_.journal().empty());
  EXPECT_TRUE(events.back().ok());
}

// The one JOB_SKIPPED event of `events` (fails the test when there is not exactly one).
v1::OperationRecord OnlySkip(const std::vector<v1::AgentEvent>& events) {
  v1::OperationRecord op;
  int skipped = 0;
  for (const auto& e : events)
    if (e.kind() == v1::AgentEvent::JOB_SKIPPED) {
      ++skipped;
      op = e.operation();
    }
  EXPECT_EQ(skipped, 1);
  return op;
}

TEST_F(StepRunnerTest, ADryRunRestartOfAStoppedUnitRecordsTheStopAsSkippedWithWhyAndWouldStartIt) {
  auto events = Run(Request(v1::OPERATION_RESTART, "sls-bot.service", /*dry_run=*/true));
  EXPECT_TRUE(systemd_.journal().empty());
  const v1::OperationRecord op = OnlySkip(events);
  EXPECT_EQ(op.operation(), v1::OPERATION_STOP);
  EXPECT_EQ(op.skip(), v1::SKIP_REASON_ALREADY_STOPPED);
  EXPECT_EQ(op.job_result(), v1::JOB_RESULT_ALREADY);
  EXPECT_EQ(op.skip_reason(), "already inactive");
  EXPECT_EQ(SkipLine(op), "stop skipped: already inactive");
  EXPECT_EQ(op.host(), "api");
  EXPECT_EQ(op.step_id(), "01-restart");
  int would_start = 0;
  for (const auto& e : events)
    would_start += e.kind() == v1::AgentEvent::WOULD_RUN && e.operation().operation() == v1::OPERATION_START;
  EXPECT_EQ(would_start, 1);
  EXPECT_TRUE(events.back().ok());
}

TEST_F(StepRunnerTest, AnExecutedStopOfAFailedUnitIsRecordedAsSkippedAndIssuesNoJob) {
  systemd_.AddUnit("sls-cerebro.service", "failed");
  auto events = Run(Request(v1::OPERATION_STOP, "sls-cerebro.service"));
  EXPECT_TRUE(systemd_.journal().empty());
  EXPECT_EQ(OnlySkip(events).skip_reason(), "already failed");
  EXPECT_TRUE(events.back().ok());
}

TEST_F(StepRunnerTest, AStopOfARunningUnitIsNotSkipped) {
  auto events = Run(Request(v1::OPERATION_STOP, "sls-api.service"));
  for (const auto& e : events) EXPECT_NE(e.kind(), v1::AgentEvent::JOB_SKIPPED);
  EXPECT_EQ(systemd_.journal(), (std::vector<std::string>{"stop sls-api.service"}));
}

TEST_F(StepRunnerTest, FailedStartFailsTheStepWithTheUnitsExitStatus) {
  systemd_.FailNextStart("sls-api.service", "failed");
  auto events = Run(Request(v1::OPERATION_RESTART, "sls-api.service"));
  EXPECT_FALSE(events.back().ok());
  EXPECT_NE(events.back().message().find("failed"), std::string::npos);
  EXPECT_NE(events.back().message().find("exit status 3"), std::string::npos) << events.back().message();
}

TEST_F(StepRunnerTest, StartLimitHitIsNamedAndResetOnlyWhenAllowed) {
  systemd_.FailNextStart("sls-api.service", "start-limit-hit");
  auto events = Run(Request(v1::OPERATION_RESTART, "sls-api.service"));
  EXPECT_FALSE(events.back().ok());
  EXPECT_NE(events.back().message().find("start-limit-hit"), std::string::npos);

  systemd_.FailNextStart("sls-api.service", "start-limit-hit");
  auto req = Request(v1::OPERATION_START, "sls-api.service");
  req.set_allow_reset_failed(true);
  events = Run(req);
  EXPECT_TRUE(events.back().ok()) << events.back().message();
  auto journal = systemd_.journal();
  EXPECT_EQ(journal.back(), "start sls-api.service");
  EXPECT_EQ(journal[journal.size() - 2], "reset-failed sls-api.service");
}

TEST_F(StepRunnerTest, UnhealthyProbeFailsTheGate) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  req.add_probes()->set_name("api-health");
  probes_.Set("api-health", false);
  auto events = Run(req);
  EXPECT_FALSE(events.back().ok());
  EXPECT_NE(events.back().message().find("api-health"), std::string::npos);
}

TEST_F(StepRunnerTest, UnknownUnitStopsBeforeAnyChange) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  req.add_units("sls-ghost.service");
  auto events = Run(req);
  EXPECT_TRUE(systemd_.journal().empty());
  EXPECT_FALSE(events.back().ok());
  EXPECT_NE(events.back().message().find("sls-ghost.service is not-found"), std::string::npos);
}

TEST_F(StepRunnerTest, StopHoldsTheUnitUntilLeaseExpiryRestoresIt) {
  Run(Request(v1::OPERATION_STOP, "sls-api.service"));
  EXPECT_EQ(lease_.held_units(), std::vector<std::string>{"sls-api.service"});
  EXPECT_TRUE(lease_.TakeExpired().first.empty()) << "lease still valid";
  clock_.Advance(std::chrono::seconds(11));
  auto [run, units] = lease_.TakeExpired();
  EXPECT_EQ(run, "run-1");
  runner_.RestoreUnits(run, units, "lease expired");
  EXPECT_EQ(systemd_.GetUnitState("sls-api.service")->active_state(), "active");
  ASSERT_EQ(lease_.autonomous().size(), 1u);
  EXPECT_TRUE(lease_.autonomous()[0].autonomous());
  EXPECT_EQ(lease_.autonomous()[0].run_id(), "run-1");
  EXPECT_TRUE(lease_.holder().empty());
}

TEST(ValidateExecuteRequest, RefusesBadFieldsAndUnitsOffTheAllowlist) {
  auto list = *UnitAllowlist::Create({"sls-*.service"});
  v1::ExecuteRequest good;
  good.set_run_id("r1");
  good.set_step_id("s1");
  good.set_operation(v1::OPERATION_RESTART);
  good.add_units("sls-api.service");
  good.set_job_timeout_ms(1000);
  good.set_lease_ms(5000);
  ASSERT_TRUE(ValidateExecuteRequest(good, list).ok());

  auto with = [&](auto mutate) {
    v1::ExecuteRequest r = good;
    mutate(r);
    return ValidateExecuteRequest(r, list);
  };
  EXPECT_EQ(with([](auto& r) { r.set_units(0, "sshd.service"); }).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(with([](auto& r) { r.set_units(0, "sls-api.service; reboot"); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.set_run_id("../../etc"); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.set_run_id(std::string(5000, 'a')); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.set_job_timeout_ms(0); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.set_lease_ms(0); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.set_operation(v1::OPERATION_UNSPECIFIED); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) { r.clear_units(); }).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) {
              auto* p = r.add_probes();
              p->set_name("x");
              p->set_timeout_ms(10);
              p->mutable_http()->set_url("file:///etc/shadow");
            }).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(with([](auto& r) {
              auto* p = r.add_probes();
              p->set_name("x");
              p->set_timeout_ms(10);
              p->mutable_unit()->set_unit("sshd.service");
            }).code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace failover::agent

namespace failover::agent {
namespace {

TEST(SecretUse, SecretsGoOnlyToTheirAllowedUrls) {
  AgentConfig config;
  config.secrets["panel_token"] = "v";
  config.secret_urls["panel_token"] = DefaultSecretUrls();
  v1::ProbeSpec p;
  p.set_name("p");
  p.mutable_http()->set_url("http://127.0.0.1:8080/health");
  p.mutable_http()->set_bearer_secret("panel_token");
  EXPECT_TRUE(CheckSecretUse(config, p).ok());
  for (const char* url : {"http://10.0.0.9/health", "http://127.0.0.1.evil.com/x", "https://localhost.evil/"}) {
    p.mutable_http()->set_url(url);
    EXPECT_EQ(CheckSecretUse(config, p).code(), absl::StatusCode::kPermissionDenied) << url;
  }
  p.mutable_http()->set_bearer_secret("nope");
  EXPECT_EQ(CheckSecretUse(config, p).code(), absl::StatusCode::kInvalidArgument);
  p.mutable_http()->clear_bearer_secret();
  EXPECT_TRUE(CheckSecretUse(config, p).ok()) << "no secret, nothing to protect";
}

TEST(SecretUse, ProbeUrlsMayNotCarryCredentials) {
  v1::ProbeSpec p;
  p.set_name("p");
  p.set_timeout_ms(10);
  p.mutable_http()->set_url("http://127.0.0.1:80@evil.com/health");
  EXPECT_EQ(ValidateProbeSpec(p).code(), absl::StatusCode::kInvalidArgument);
  p.mutable_http()->set_url("http://127.0.0.1:8080/health?x=a@b");
  EXPECT_TRUE(ValidateProbeSpec(p).ok()) << "an @ after the authority is fine";
}

}  // namespace
}  // namespace failover::agent

namespace failover::agent {
namespace {

// systemd in memory whose services have TimeoutStartUSec/TimeoutStopUSec.
class TimedSystemd : public failover::testing::FakeSystemd {
 public:
  absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) override {
    auto st = FakeSystemd::GetUnitState(unit);
    if (st.ok()) {
      st->set_timeout_start_us(90'000'000);
      st->set_timeout_stop_us(45'000'000);
    }
    return st;
  }
};

TEST(UnitTimeouts, AStepWhoseLeaseIsShorterThanStopPlusStartIsRefusedNamingBoth) {
  FakeClock clock;
  TimedSystemd systemd;
  FakeProbes probes;
  systemd.AddUnit("sls-api.service", "active", 42);
  HostLease lease(&clock, "");
  AuditLog audit("");
  StepRunner runner("api", &systemd, &probes, &lease, &audit, &clock);
  v1::ExecuteRequest r;
  r.set_run_id("run-1");
  r.set_step_id("01-restart");
  r.set_operation(v1::OPERATION_RESTART);
  r.add_units("sls-api.service");
  r.set_job_timeout_ms(120000);
  r.set_lease_ms(100000);
  ASSERT_TRUE(lease.Acquire("run-1", std::chrono::seconds(100)).ok());
  v1::AgentEvent done = runner.Run(r, "coordinator", [](v1::AgentEvent) {});
  EXPECT_FALSE(done.ok());
  EXPECT_TRUE(systemd.journal().empty());
  EXPECT_NE(done.message().find("TimeoutStopUSec 45000 ms"), std::string::npos) << done.message();
  EXPECT_NE(done.message().find("TimeoutStartUSec 90000 ms"), std::string::npos) << done.message();
  EXPECT_NE(done.message().find("lease_ms 100000"), std::string::npos) << done.message();

  r.set_lease_ms(135000);
  EXPECT_TRUE(runner.Run(r, "coordinator", [](v1::AgentEvent) {}).ok()) << "135 s covers 45 s + 90 s";
}

TEST(UnitTimeouts, TheJobTimeoutCapsWhatTheLeaseMustCover) {
  v1::ExecuteRequest r;
  r.set_operation(v1::OPERATION_STOP);
  r.set_job_timeout_ms(3000);
  r.set_lease_ms(6000);
  v1::UnitState st;
  st.set_unit("sls-api.service");
  st.set_timeout_start_us(20'000'000);
  st.set_timeout_stop_us(UINT64_MAX);  // infinity
  EXPECT_TRUE(CheckLeaseCoversUnitTimeouts(r, st).ok()) << "the agent waits at most 3 s + 3 s";
  r.set_lease_ms(5999);
  absl::Status s = CheckLeaseCoversUnitTimeouts(r, st);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("TimeoutStopUSec infinity"), std::string::npos) << s.message();
  r.set_operation(v1::OPERATION_START);
  EXPECT_TRUE(CheckLeaseCoversUnitTimeouts(r, st).ok()) << "a start holds nothing";
}

TEST_F(StepRunnerTest, GateFailsWhenTheUnitRestartsDuringTheSettleWindow) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  req.set_healthy_for_ms(1000);
  systemd_.CrashLoopAfterNextStart("sls-api.service");
  const auto t0 = clock_.Now();
  auto events = Run(req);
  ASSERT_EQ(events.back().kind(), v1::AgentEvent::STEP_DONE);
  EXPECT_FALSE(events.back().ok());
  EXPECT_NE(events.back().message().find("sls-api.service"), std::string::npos) << events.back().message();
  EXPECT_NE(events.back().message().find("NRestarts 0 -> 1"), std::string::npos) << events.back().message();
  EXPECT_GE(clock_.Now() - t0, std::chrono::milliseconds(1000)) << "the window was waited";
}

TEST_F(StepRunnerTest, GatePassesWhenTheUnitStaysUpForTheSettleWindowAndProbesPassAgain) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  req.set_healthy_for_ms(1000);
  v1::ProbeSpec probe;
  probe.set_name("api-health");
  *req.add_probes() = probe;
  auto events = Run(req);
  EXPECT_TRUE(events.back().ok()) << events.back().message();
  int probes = 0;
  for (const auto& e : events) probes += e.kind() == v1::AgentEvent::PROBE_RESULT;
  EXPECT_EQ(probes, 2) << "once at the gate, once at the end of the window";
}

TEST_F(StepRunnerTest, ASettledRestartReadsItsUnitThreeTimesAndReportsTheWindowsLastReadAsItsFinalState) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  req.set_healthy_for_ms(1000);
  systemd_.set_clock(&clock_);
  auto events = Run(req);
  ASSERT_TRUE(events.back().ok()) << events.back().message();
  EXPECT_EQ(systemd_.reads(), 3) << "before the jobs, at the gate, at the end of the window (= the final state)";
  const auto& final_state = events[events.size() - 2];
  ASSERT_EQ(final_state.kind(), v1::AgentEvent::FINAL_STATE);
  EXPECT_GE(final_state.state().read_at_unix_us(), events.front().at_unix_us() + 1'000'000)
      << "read after the settle window, not before it";
}

TEST_F(StepRunnerTest, WithoutASettleWindowACrashAfterStartIsNotWaitedFor) {
  auto req = Request(v1::OPERATION_RESTART, "sls-api.service");
  systemd_.CrashLoopAfterNextStart("sls-api.service");
  const auto t0 = clock_.Now();
  Run(req);
  EXPECT_LT(clock_.Now() - t0, std::chrono::milliseconds(1000));
}

TEST_F(StepRunnerTest, JobRecordsCarryTheJobResultTheStepDecidesOn) {
  systemd_.FailNextStart("sls-bot.service", "failed");
  auto events = Run(Request(v1::OPERATION_START, "sls-bot.service"));
  v1::OperationRecord op;
  for (const auto& e : events)
    if (e.kind() == v1::AgentEvent::JOB_DONE) op = e.operation();
  EXPECT_EQ(op.job_result(), v1::JOB_RESULT_FAILED);
  EXPECT_FALSE(events.back().ok());
  auto ok_events = Run(Request(v1::OPERATION_RESTART, "sls-api.service"));
  for (const auto& e : ok_events) {
    if (e.kind() == v1::AgentEvent::JOB_DONE) {
      EXPECT_EQ(e.operation().job_result(), v1::JOB_RESULT_DONE);
    }
  }
}

TEST(SettleFailure, NamesTheUnitThatWentDownOrRestartedAndNothingWhenItStayedUp) {
  v1::UnitState before;
  before.set_unit("sls-api.service");
  before.set_active_state("active");
  before.set_main_pid(10);
  v1::UnitState same = before;
  EXPECT_EQ(SettleFailure("api", 1000, {before}, {same}), "");
  v1::UnitState pid_moved = before;
  pid_moved.set_main_pid(11);
  EXPECT_NE(SettleFailure("api", 1000, {before}, {pid_moved}).find("MainPID 10 -> 11"), std::string::npos);
  v1::UnitState down = before;
  down.set_active_state("failed");
  const std::string why = SettleFailure("api", 1000, {before}, {down});
  EXPECT_NE(why.find("sls-api.service on host api"), std::string::npos) << why;
  EXPECT_NE(why.find("is failed"), std::string::npos) << why;
}

}  // namespace
}  // namespace failover::agent
