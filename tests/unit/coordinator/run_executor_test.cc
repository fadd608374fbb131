#include "coordinator/run_executor.h"

#include <atomic>
#include <thread>

#include "coordinator/fake_agent.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using failover::testing::FakeAgent;
using failover::testing::FakeClock;
using failover::testing::FakeProbes;

class RunExecutorTest : public ::testing::Test {
 protected:
  RunExecutorTest() {
    config_ = testing::SlsTestConfig();
    config_.defaults.job_timeout_ms = 1000;
    config_.defaults.lease_ms = 5000;
    for (const auto& h : config_.hosts) {
      agents_[h.name] = std::make_unique<FakeAgent>(h.name, &order_, &order_mu_);
      for (const auto& u : h.units) agents_[h.name]->systemd().AddUnit(u);
    }
  }

  v1::Report Run(RunOptions o) {
    auto plan = BuildPlan(config_, o);
    EXPECT_TRUE(plan.ok()) << plan.status();
    plan_ = *plan;
    std::map<std::string, AgentClient*> clients;
    for (auto& [h, a] : agents_) clients[h] = a.get();
    RunExecutor ex(config_, plan_, clients, &health_, &clock_, [this](v1::RunEvent e) {
                     if (on_event_) on_event_(e);
                     events_.push_back(e);
                   },
                   [this](const v1::Report& r) { ++snapshots_; });
    return ex.Run("run-1");
  }

  RunOptions Execute() {
    RunOptions o;
    o.execute = true;
    return o;
  }

  Config config_;
  Plan plan_;
  std::map<std::string, std::unique_ptr<FakeAgent>> agents_;
  std::vector<std::string> order_;
  std::mutex order_mu_;
  FakeProbes health_;
  FakeClock clock_;
  std::vector<v1::RunEvent> events_;
  std::function<void(const v1::RunEvent&)> on_event_;
  int snapshots_ = 0;
};

TEST_F(RunExecutorTest, RollingRestartsEveryUnitInOrderAndSucceeds) {
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(order_, (std::vector<std::string>{
                        "api:stop sls-bot.service", "api:start sls-bot.service", "cerebro:stop sls-bot.service",
                        "cerebro:start sls-bot.service", "cerebro:stop sls-cerebro.service",
                        "cerebro:start sls-cerebro.service", "api:stop sls-api.service", "api:start sls-api.service",
                        "panel:stop sls-api.service", "panel:start sls-api.service"}));
  EXPECT_EQ(r.initial_state_size(), 5);
  EXPECT_EQ(r.final_state_size(), 5);
  EXPECT_EQ(r.operations_size(), 10);
  for (const auto& s : r.steps()) EXPECT_EQ(s.status(), v1::STEP_SUCCEEDED);
  EXPECT_GT(snapshots_, 5) << "journal snapshot at least per step";
  EXPECT_FALSE(events_.empty());
}

TEST_F(RunExecutorTest, DryRunChangesNothing) {
  v1::Report r = Run(RunOptions{});
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED);
  EXPECT_TRUE(r.dry_run());
  EXPECT_TRUE(order_.empty());
  for (const auto& s : r.steps()) EXPECT_EQ(s.status(), v1::STEP_DRY_RUN);
  for (const auto& op : r.operations()) EXPECT_EQ(op.result(), "would-run");
}

TEST_F(RunExecutorTest, ADryRunListsTheStopOfAStoppedUnitAsSkippedAndStillSucceeds) {
  agents_["api"]->systemd().AddUnit("sls-bot.service", "inactive");
  v1::Report r = Run(RunOptions{});
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_TRUE(order_.empty());
  int skipped = 0;
  for (const auto& op : r.operations()) {
    if (op.skip() == v1::SKIP_REASON_UNSPECIFIED) continue;
    ++skipped;
    EXPECT_EQ(op.host(), "api");
    EXPECT_EQ(op.unit(), "sls-bot.service");
    EXPECT_EQ(op.detail(), "stop skipped: already inactive");
  }
  EXPECT_EQ(skipped, 1);
  bool said = false;
  for (const auto& e : events_) said |= e.host() == "api" && e.message().find("stop skipped: already inactive") == 0;
  EXPECT_TRUE(said) << "the live output says it too";
}

TEST_F(RunExecutorTest, AnExecutedRunRecordsTheSkippedStopAndStartsTheStoppedUnit) {
  agents_["api"]->systemd().AddUnit("sls-bot.service", "inactive");
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(order_.front(), "api:start sls-bot.service");
  int skipped = 0;
  for (const auto& op : r.operations()) skipped += op.skip() == v1::SKIP_REASON_ALREADY_STOPPED;
  EXPECT_EQ(skipped, 1);
}

TEST_F(RunExecutorTest, FailedGateAbortsBeforeTheNextServiceAndListsStepsNotRun) {
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_NE(r.summary().find("sls-cerebro-health"), std::string::npos) << r.summary();
  EXPECT_EQ(r.steps(2).status(), v1::STEP_FAILED);
  EXPECT_EQ(r.steps(3).status(), v1::STEP_NOT_RUN);
  EXPECT_EQ(r.steps(4).status(), v1::STEP_NOT_RUN);
  for (const auto& o : order_) EXPECT_EQ(o.find("sls-api"), std::string::npos) << "api must not be touched: " << o;
}

TEST_F(RunExecutorTest, ContinuePolicyRunsEveryStepButFailsTheRun) {
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kContinue;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED);
  EXPECT_EQ(r.steps(4).status(), v1::STEP_SUCCEEDED);
}

TEST_F(RunExecutorTest, UnreachableAgentRefusesAnExecutedRunBeforeAnyChange) {
  agents_["panel"]->unreachable = true;
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_TRUE(order_.empty());
  EXPECT_NE(r.summary().find("panel"), std::string::npos);
}

TEST_F(RunExecutorTest, StopAllThatFailsMidwayStartsAgainEveryUnitItStopped) {
  RunOptions o = Execute();
  o.mode = Mode::kStopAll;
  o.max_parallel = 3;
  agents_["api"]->systemd().FailNextStart("sls-api.service", "failed");
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  // The first start (sls-api) failed on api; recovery starts bot and cerebro which stop-all stopped,
  // and retries sls-api.
  for (const auto& h : config_.hosts) {
    for (const auto& u : h.units) {
      EXPECT_EQ(agents_[h.name]->systemd().GetUnitState(u)->active_state(), "active") << h.name << " " << u;
    }
  }
}

TEST_F(RunExecutorTest, RestorePolicyPutsEveryTouchedUnitBackToItsInitialState) {
  // sls-bot was stopped on cerebro before the run: the rolling restart starts it, then a later
  // step fails; restore stops it again. Units that ran before stay running.
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kRestore;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "inactive");
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-cerebro.service")->active_state(), "active");
  EXPECT_EQ(agents_["api"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
  EXPECT_EQ(order_.back(), "cerebro:stop sls-bot.service");
}

TEST_F(RunExecutorTest, AbortPolicyLeavesAUnitThatWasStoppedBeforeAsTheRunLeftIt) {
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  agents_["cerebro"]->probes().Set("sls-cerebro-health", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
}

TEST_F(RunExecutorTest, FailureThresholdLetsOneOfTwoHostsFail) {
  for (auto& s : config_.services)
    if (s.name == "sls-api") {
      s.max_failed_hosts = 50;
      s.failure_percent = true;
    }
  agents_["panel"]->probes().Set("sls-api-health", false);
  RunOptions o = Execute();
  o.max_parallel = 2;
  v1::Report r = Run(o);
  EXPECT_EQ(r.steps(2).status(), v1::STEP_SUCCEEDED) << r.steps(2).reason();
  EXPECT_NE(r.steps(2).reason().find("panel"), std::string::npos);
}

TEST_F(RunExecutorTest, FailureThresholdCountsHostsAcrossWaves) {
  for (auto& s : config_.services)
    if (s.name == "sls-api") s.max_failed_hosts = 1;
  agents_["api"]->probes().Set("sls-api-health", false);
  agents_["panel"]->probes().Set("sls-api-health", false);
  v1::Report r = Run(Execute());  // max_parallel 1: api and panel are two waves
  EXPECT_EQ(r.steps(3).status(), v1::STEP_SUCCEEDED) << "1 of 2 hosts failed, 1 allowed";
  EXPECT_EQ(r.steps(4).status(), v1::STEP_FAILED) << "2 of 2 hosts failed over both waves";
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
}

TEST_F(RunExecutorTest, RestorePolicyKeepsWhatASuccessfulRunDid) {
  agents_["cerebro"]->systemd().AddUnit("sls-bot.service", "inactive");
  RunOptions o = Execute();
  o.failure_policy = FailurePolicy::kRestore;
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(agents_["cerebro"]->systemd().GetUnitState("sls-bot.service")->active_state(), "active");
}

TEST_F(RunExecutorTest, FinalHealthCheckFailureFailsTheRun) {
  config_.health_check.enabled = true;
  config_.health_check.url = "http://x/health";
  health_.Set("health_check", false);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED);
  EXPECT_NE(r.summary().find("final health check"), std::string::npos);
}

// The stop hook (coordinator SIGTERM, failoverctl abort): asked for while the first stop-all
// step runs, the run stops before the next step and starts again every unit it stopped.
TEST_F(RunExecutorTest, AStopRequestedMidRunEndsAbortedAtTheNextSafePointAndStartsWhatItStopped) {
  RunOptions o = Execute();
  o.mode = Mode::kStopAll;
  o.max_parallel = 3;
  auto plan = BuildPlan(config_, o);
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::map<std::string, AgentClient*> clients;
  for (auto& [h, a] : agents_) clients[h] = a.get();
  RunExecutor* self = nullptr;
  RunExecutor ex(config_, *plan, clients, &health_, &clock_,
                 [&](v1::RunEvent e) {
                   if (e.message().rfind("step 1/", 0) == 0) self->RequestStop("stopped: the coordinator received SIGTERM");
                 },
                 nullptr);
  self = &ex;
  v1::Report r = ex.Run("run-stop");
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(r.summary().rfind("ABORTED: stopped: the coordinator received SIGTERM", 0), 0u) << r.summary();
  EXPECT_EQ(r.steps(0).status(), v1::STEP_SUCCEEDED) << "the step in flight finishes on its hosts";
  for (int i = 1; i < r.steps_size(); ++i) {
    EXPECT_EQ(r.steps(i).status(), v1::STEP_NOT_RUN);
    EXPECT_EQ(r.steps(i).reason(), "not run: stopped: the coordinator received SIGTERM");
  }
  for (const auto& h : config_.hosts)
    for (const auto& u : h.units)
      EXPECT_EQ(agents_[h.name]->systemd().GetUnitState(u)->active_state(), "active") << h.name << " " << u;
  EXPECT_EQ(order_.front().find(":stop "), order_.front().find(':')) << order_.front();
  EXPECT_NE(order_.back().find(":start "), std::string::npos) << "recovery started what the first step stopped";
}

TEST_F(RunExecutorTest, AStopRequestedBeforeTheFirstStepChangesNothing) {
  auto plan = BuildPlan(config_, Execute());
  ASSERT_TRUE(plan.ok()) << plan.status();
  std::map<std::string, AgentClient*> clients;
  for (auto& [h, a] : agents_) clients[h] = a.get();
  RunExecutor ex(config_, *plan, clients, &health_, &clock_, nullptr, nullptr);
  ex.RequestStop("aborted by unix socket at now");
  v1::Report r = ex.Run("run-stop-early");
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_NE(r.summary().find("aborted by unix socket"), std::string::npos) << r.summary();
  EXPECT_TRUE(order_.empty());
}

TEST_F(RunExecutorTest, ALaterRunIsRefusedNamingTheHolderBeforeAnyChangeAndGivesBackWhatItReserved) {
  ASSERT_TRUE(agents_["panel"]->lease().Acquire("run-a", std::chrono::seconds(60)).ok());
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_TRUE(order_.empty()) << "nothing changed anywhere";
  EXPECT_NE(r.summary().find("run-a"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("panel"), std::string::npos) << r.summary();
  EXPECT_EQ(r.summary().find("unreachable"), std::string::npos) << r.summary();
  EXPECT_EQ(agents_["api"]->lease().holder(), "") << "api was reserved, then released";
  EXPECT_EQ(agents_["cerebro"]->lease().holder(), "");
  EXPECT_EQ(agents_["panel"]->lease().holder(), "run-a") << "the earlier run keeps its host";
}

TEST_F(RunExecutorTest, AnExecutedRunReservesEveryHostAtPreflightAndReleasesThemAtTheEnd) {
  v1::Report dry = Run(RunOptions{});
  EXPECT_EQ(dry.outcome(), v1::RUN_SUCCEEDED);
  for (auto& [h, a] : agents_) EXPECT_EQ(a->lease().holder(), "") << h << ": a dry run reserves nothing";
  // panel runs only sls-api, the last service: it must be held already when the first step starts.
  std::map<std::string, std::string> holders_at_first_step;
  on_event_ = [&](const v1::RunEvent& e) {
    if (holders_at_first_step.empty() && e.message().rfind("step 1/", 0) == 0)
      for (auto& [h, a] : agents_) holders_at_first_step[h] = a->lease().holder();
  };
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(holders_at_first_step["panel"], "run-1");
  EXPECT_EQ(holders_at_first_step["cerebro"], "run-1");
  for (auto& [h, a] : agents_) EXPECT_EQ(a->lease().holder(), "") << h << " released at the end";
}

TEST_F(RunExecutorTest, ReadsTheFinalStateAndReleasesEveryHostInOneCallEach) {
  v1::Report r = Run(Execute());
  ASSERT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(r.final_state_size(), r.initial_state_size());
  for (auto& [h, a] : agents_) {
    // Preflight (reserve), then one read after the last step: nothing to recover, so it is the
    // final state and it releases the host. Nothing more.
    EXPECT_EQ(a->get_state_calls.load(), 2) << h;
    EXPECT_EQ(a->get_state_releases.load(), 1) << h;
    EXPECT_EQ(a->renew_lease_releases.load(), 0) << h << ": released a second time";
    EXPECT_EQ(a->lease().holder(), "") << h;
  }
}

TEST_F(RunExecutorTest, AHostWhoseAgentDoesNotReleaseOnTheFinalReadIsReleasedByRenewLease) {
  agents_["cerebro"]->ignores_release_in_get_state = true;  // an agent older than GetStateRequest.release
  v1::Report r = Run(Execute());
  ASSERT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(agents_["cerebro"]->renew_lease_releases.load(), 1);
  EXPECT_EQ(agents_["api"]->renew_lease_releases.load(), 0);
  for (auto& [h, a] : agents_) EXPECT_EQ(a->lease().holder(), "") << h;
}

TEST_F(RunExecutorTest, AUnitDownAfterItsStepInARunThatHasNotFailedIsStartedBeforeItsHostIsReleased) {
  auto plan = BuildPlan(config_, Execute());
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PlannedStep last = plan->steps.back();
  const std::string host = last.hosts.front();
  on_event_ = [&](const v1::RunEvent& e) {  // it crashes once its step is over
    if (e.step_id() == last.id && e.message().find(" succeeded") != std::string::npos)
      agents_[host]->systemd().AddUnit(last.unit, "inactive");
  };
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(agents_[host]->systemd().GetUnitState(last.unit)->active_state(), "active");
  EXPECT_EQ(order_.back(), host + ":start " + last.unit) << "the recovery started it";
  // The read after the last step kept the lease (a unit down); the final read released it.
  EXPECT_EQ(agents_[host]->get_state_calls.load(), 3);
  EXPECT_EQ(agents_[host]->get_state_releases.load(), 1);
  EXPECT_EQ(agents_[host]->lease().holder(), "");
  bool final_active = false;
  for (const auto& st : r.final_state())
    final_active = final_active || (st.host() == host && st.unit() == last.unit && st.active_state() == "active");
  EXPECT_TRUE(final_active) << "the final state was read after the recovery";
}

TEST_F(RunExecutorTest, AnAgentRefusalAtPreflightIsReportedAsARefusalWithTheAgentsMessage) {
  agents_["cerebro"]->refuse_get_state =
      absl::PermissionDeniedError("unit sls-cerebro.service is not on this agent's allowlist");
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_NE(r.summary().find("host cerebro refused the run: unit sls-cerebro.service is not on this agent's allowlist"),
            std::string::npos)
      << r.summary();
  for (const auto& e : r.errors()) EXPECT_EQ(e.find("unreachable"), std::string::npos) << e;
  EXPECT_TRUE(order_.empty());
}

TEST_F(RunExecutorTest, ALeaseShorterThanAUnitsStopAndStartTimeoutsRefusesTheRunNamingUnitHostAndBothValues) {
  // lease 5000 ms; each timeout is capped by the job timeout (as the agent waits), so raise it
  // (the parser would refuse lease < 2 x job timeout; a hand-made config need not).
  config_.defaults.job_timeout_ms = 4000;
  for (const auto& h : config_.hosts)
    for (const auto& u : h.units) agents_[h.name]->systemd().SetTimeouts(u, 1'000'000, 1'000'000);
  agents_["cerebro"]->systemd().SetTimeouts("sls-cerebro.service", 3'000'000, 2'500'000);
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_TRUE(order_.empty());
  EXPECT_NE(r.summary().find("unit sls-cerebro.service on host cerebro"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("TimeoutStopUSec 2500 ms"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("TimeoutStartUSec 3000 ms"), std::string::npos) << r.summary();
}

TEST_F(RunExecutorTest, AUnitThatCrashLoopsAfterItsGateFailsTheRunInTheSettleWindow) {
  config_.defaults.healthy_for_ms = 1000;
  agents_["panel"]->systemd().CrashLoopAfterNextStart("sls-api.service");
  v1::Report r = Run(Execute());
  EXPECT_NE(r.outcome(), v1::RUN_SUCCEEDED);
  EXPECT_NE(r.summary().find("sls-api.service"), std::string::npos) << r.summary();
  EXPECT_NE(r.summary().find("did not stay up"), std::string::npos) << r.summary();
}

TEST_F(RunExecutorTest, ARunWhoseFinalStateHasAUnitDownThatWasUpIsNotASuccess) {
  config_.defaults.healthy_for_ms = 0;  // no settle window: only the final state can tell
  agents_["panel"]->systemd().CrashLoopAfterNextStart("sls-api.service");
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED) << r.summary();
  EXPECT_NE(r.summary().find("unit sls-api.service on host panel"), std::string::npos) << r.summary();
}

TEST(UnitDownAfterRun, OnlyAUnitThatWasUpAndIsNotActiveAtTheEndBreaksTheRun) {
  v1::UnitState up, down, restarting;
  up.set_unit("sls-api.service");
  up.set_active_state("active");
  down = up;
  down.set_active_state("inactive");
  restarting = up;
  restarting.set_active_state("activating");
  restarting.set_sub_state("auto-restart");
  EXPECT_EQ(UnitDownAfterRun("api", up, up), "");
  EXPECT_EQ(UnitDownAfterRun("api", down, down), "") << "it was down before: not the run's doing";
  EXPECT_NE(UnitDownAfterRun("api", up, restarting).find("activating/auto-restart"), std::string::npos);
  EXPECT_NE(UnitDownAfterRun("api", up, down).find("unit sls-api.service on host api"), std::string::npos);
}

TEST(IsRefusal, TellsAnAgentsRefusalFromAnAgentThatDidNotAnswer) {
  EXPECT_TRUE(IsRefusal(absl::FailedPreconditionError("host is held by run a")));
  EXPECT_TRUE(IsRefusal(absl::PermissionDeniedError("not allowed")));
  EXPECT_TRUE(IsRefusal(absl::InvalidArgumentError("bad unit")));
  EXPECT_FALSE(IsRefusal(absl::UnavailableError("connection refused")));
  EXPECT_FALSE(IsRefusal(absl::DeadlineExceededError("deadline")));
}

TEST_F(RunExecutorTest, ALostHostThatAnswersAgainIsAskedForItsFinalStateAndOwnRestores) {
  agents_["panel"]->break_after_events = 2;  // the stream of panel's step breaks mid-step
  v1::Report r = Run(Execute());
  EXPECT_NE(r.outcome(), v1::RUN_SUCCEEDED);
  bool panel_final = false;
  for (const auto& st : r.final_state()) panel_final = panel_final || st.host() == "panel";
  EXPECT_TRUE(panel_final) << "panel answered again and its final state is in the report";
  for (const auto& e : r.errors()) EXPECT_EQ(e.find("is not asked again"), std::string::npos) << e;
  for (const auto& s : r.steps()) EXPECT_EQ(s.reason().find("restores stopped units within the lease"), std::string::npos);
}

// Gates (gate_plan.h): before, during (stop conditions) and after a run.
class RunExecutorGatesTest : public RunExecutorTest {
 protected:
  RunExecutorGatesTest() {
    v1::ProbeSpec p;
    p.mutable_tcp()->set_host("127.0.0.1");
    p.mutable_tcp()->set_port(8080);
    p.set_name("api-port");
    config_.gates.push_back({"api-port", "api", p});
    p.set_name("worker-ok");
    config_.stop_conditions.push_back({"worker-ok", "cerebro", p});
    config_.defaults.stop_condition_interval_ms = 60000;  // the between-steps check decides in these tests
  }
  RunOptions RequireHealthy(bool force) {
    RunOptions o = Execute();
    o.require_healthy = true;
    o.force = force;
    return o;
  }
  bool AnyEventHas(const std::string& text) const {
    for (const auto& e : events_)
      if (e.message().find(text) != std::string::npos) return true;
    return false;
  }
};

TEST_F(RunExecutorGatesTest, AGateFailingBeforeAndPassingAfterIsReportedAsBothAndTheIncidentRunGoesAhead) {
  agents_["api"]->probes().Set("api-port", false);
  on_event_ = [this](const v1::RunEvent& e) {
    if (e.message().rfind("step 1/", 0) == 0) agents_["api"]->probes().Set("api-port", true);
  };
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  ASSERT_EQ(r.gates_before_size(), 1);
  ASSERT_EQ(r.gates_after_size(), 1);
  EXPECT_FALSE(r.gates_before(0).passed());
  EXPECT_EQ(r.gates_before(0).where(), "api");
  EXPECT_EQ(r.gates_before(0).phase(), v1::GATE_PHASE_BEFORE);
  EXPECT_TRUE(r.gates_after(0).passed());
  EXPECT_EQ(r.gates_after(0).phase(), v1::GATE_PHASE_AFTER);
  EXPECT_FALSE(r.forced());
  EXPECT_TRUE(AnyEventHas("pre-flight gate api-port: FAILING"));
}

TEST_F(RunExecutorGatesTest, PreFlightGatesRunBesideThePreflightReservations) {
  v1::ProbeSpec p;
  p.mutable_tcp()->set_host("127.0.0.1");
  p.mutable_tcp()->set_port(443);
  config_.gates.push_back({"coordinator-gate", kGateOnCoordinator, p});
  std::atomic<bool> saw_reservation{false};
  std::atomic<int> calls{0};
  // The coordinator's gate (its first call: before the run) passes only once the preflight has
  // reserved api: had the gates run first, it would wait for nothing (5 s) and fail.
  health_.before_answer = [&](const v1::ProbeSpec& spec) {
    if (spec.name() != "coordinator-gate" || calls++ > 0) return true;
    for (int i = 0; i < 500 && agents_["api"]->lease().holder() != "run-1"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    saw_reservation = agents_["api"]->lease().holder() == "run-1";
    return saw_reservation.load();
  };
  v1::Report r = Run(Execute());
  EXPECT_TRUE(saw_reservation) << "the gate ran after the preflight, not beside it";
  ASSERT_GE(r.gates_before_size(), 2);
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
}

TEST_F(RunExecutorGatesTest, AfterGatesRunAgainAfterARecoveryAndTheReportHasOnlyThatVerdict) {
  auto plan = BuildPlan(config_, Execute());
  ASSERT_TRUE(plan.ok()) << plan.status();
  const PlannedStep last = plan->steps.back();
  const std::string host = last.hosts.front();
  v1::ProbeSpec p;
  p.mutable_tcp()->set_host("127.0.0.1");
  p.mutable_tcp()->set_port(9);
  config_.gates.push_back({"last-unit-up", host, p});
  // The gate passes while the last step's unit is active; the unit falls once its step is over,
  // so the after-gates run beside the hosts' last reads see it down, the recovery starts it.
  agents_[host]->probes().before_answer = [&](const v1::ProbeSpec& spec) {
    return spec.name() != "last-unit-up" || agents_[host]->systemd().GetUnitState(last.unit)->active_state() == "active";
  };
  on_event_ = [&](const v1::RunEvent& e) {
    if (e.step_id() == last.id && e.message().find(" succeeded") != std::string::npos)
      agents_[host]->systemd().AddUnit(last.unit, "inactive");
  };
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(order_.back(), host + ":start " + last.unit) << "the recovery started it";
  int verdicts = 0;
  for (const auto& g : r.gates_after()) {
    if (g.name() != "last-unit-up") continue;
    ++verdicts;
    EXPECT_TRUE(g.passed()) << "the verdict is the one after the recovery: " << g.message();
  }
  EXPECT_EQ(verdicts, 1);
}

TEST_F(RunExecutorGatesTest, RequireHealthyRefusesAnExecuteBeforeAnyChangeNamingTheFailingGate) {
  agents_["api"]->probes().Set("api-port", false);
  v1::Report r = Run(RequireHealthy(false));
  EXPECT_EQ(r.outcome(), v1::RUN_REFUSED);
  EXPECT_NE(r.summary().find("refused before any change: --require-healthy: 1 pre-flight gate(s) failing: api-port on "
                             "api: HTTP 503"),
            std::string::npos)
      << r.summary();
  EXPECT_EQ(r.operations_size(), 0);
  EXPECT_TRUE(order_.empty()) << "no systemd job anywhere";
  for (const auto& s : r.steps()) EXPECT_EQ(s.status(), v1::STEP_NOT_RUN);
  EXPECT_TRUE(r.require_healthy());
  EXPECT_EQ(r.final_state_size(), r.initial_state_size());
  // The hosts reserved at preflight were given back: another run may take them at once.
  v1::GetStateRequest probe_lease;
  probe_lease.set_run_id("run-2");
  probe_lease.set_reserve_lease_ms(1000);
  for (auto& [h, a] : agents_) EXPECT_TRUE(a->GetState(probe_lease).ok()) << h;
}

TEST_F(RunExecutorGatesTest, RequireHealthyLetsAHealthyOrADryRunGo) {
  EXPECT_EQ(Run(RequireHealthy(false)).outcome(), v1::RUN_SUCCEEDED);
  agents_["api"]->probes().Set("api-port", false);
  RunOptions dry = RequireHealthy(false);
  dry.execute = false;
  v1::Report r = Run(dry);
  EXPECT_NE(r.outcome(), v1::RUN_REFUSED) << "a dry run changes nothing: it reports the gate, it is not refused";
  ASSERT_EQ(r.gates_before_size(), 1);
  EXPECT_FALSE(r.gates_before(0).passed());
}

TEST_F(RunExecutorGatesTest, ForceGoesAheadOverAFailingGateAndTheReportAndLogRecordIt) {
  agents_["api"]->probes().Set("api-port", false);
  on_event_ = [this](const v1::RunEvent& e) {
    if (e.message().rfind("step 1/", 0) == 0) agents_["api"]->probes().Set("api-port", true);
  };
  v1::Report r = Run(RequireHealthy(true));
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_TRUE(r.forced());
  EXPECT_EQ(std::vector<std::string>(r.forced_failing_gates().begin(), r.forced_failing_gates().end()),
            std::vector<std::string>{"api-port"});
  EXPECT_TRUE(AnyEventHas("--force: starting although --require-healthy found 1 failing pre-flight gate(s): api-port"));
}

TEST_F(RunExecutorGatesTest, AStopConditionThatTripsStopsBeforeTheNextStepAndRestores) {
  on_event_ = [this](const v1::RunEvent& e) {
    if (e.message().rfind("step 1/", 0) == 0) agents_["cerebro"]->probes().Set("worker-ok", false);
  };
  v1::Report r = Run(Execute());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(r.summary().rfind("ABORTED: stop condition worker-ok on cerebro tripped: HTTP 503", 0), 0u) << r.summary();
  ASSERT_TRUE(r.has_stop_condition());
  EXPECT_EQ(r.stop_condition().name(), "worker-ok");
  EXPECT_EQ(r.stop_condition().where(), "cerebro");
  EXPECT_EQ(r.stop_condition().steps_started(), 1u);
  EXPECT_EQ(r.steps(0).status(), v1::STEP_SUCCEEDED);
  for (int i = 1; i < r.steps_size(); ++i) EXPECT_EQ(r.steps(i).status(), v1::STEP_NOT_RUN) << i;
  EXPECT_EQ(std::vector<std::string>(r.stop_conditions().begin(), r.stop_conditions().end()),
            std::vector<std::string>{"worker-ok"});
  for (const auto& [h, a] : agents_)
    for (const auto& u : config_.FindHost(h)->units)
      EXPECT_EQ(a->systemd().GetUnitState(u)->active_state(), "active") << h << " " << u;
}

// The coordinator's probe runner, telling when it has answered "unhealthy" once.
class SignallingProbes : public FakeProbes {
 public:
  v1::ProbeResult Run(const v1::ProbeSpec& spec) override {
    v1::ProbeResult r = FakeProbes::Run(spec);
    if (!r.healthy()) failed_once = true;
    return r;
  }
  std::atomic<bool> failed_once{false};
};

TEST_F(RunExecutorGatesTest, TheWatcherChecksTheStopConditionsWhileAStepRuns) {
  config_.stop_conditions = {{"alert", kGateOnCoordinator, {}}};
  config_.stop_conditions[0].probe.set_name("alert");
  config_.defaults.stop_condition_interval_ms = 100;
  auto plan = BuildPlan(config_, Execute());
  ASSERT_TRUE(plan.ok());
  std::map<std::string, AgentClient*> clients;
  for (auto& [h, a] : agents_) clients[h] = a.get();
  SignallingProbes coordinator_probes;
  bool seen_during_step = false;
  RunExecutor ex(config_, *plan, clients, &coordinator_probes, &clock_,
                 [&](v1::RunEvent e) {
                   if (e.message().rfind("step 1/", 0) != 0) return;
                   // Step 1 waits here; only the background watcher can look at the condition now.
                   coordinator_probes.Set("alert", false);
                   const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
                   while (!coordinator_probes.failed_once && std::chrono::steady_clock::now() < until)
                     std::this_thread::sleep_for(std::chrono::milliseconds(10));
                   seen_during_step = coordinator_probes.failed_once;
                 },
                 nullptr);
  v1::Report r = ex.Run("run-watch");
  EXPECT_TRUE(seen_during_step) << "the watcher looked within its interval while step 1 ran";
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED) << r.summary();
  EXPECT_EQ(r.stop_condition().name(), "alert");
  EXPECT_EQ(r.stop_condition().where(), "coordinator");
  EXPECT_EQ(r.steps(0).status(), v1::STEP_SUCCEEDED) << "the step in flight finishes";
  EXPECT_EQ(r.steps(1).status(), v1::STEP_NOT_RUN);
}

TEST_F(RunExecutorGatesTest, TheHealthCheckIsTheCoordinatorsGateNamedHealthCheckAndAnUnreachableHostFailsItsGate) {
  config_.health_check.enabled = true;
  config_.health_check.url = "http://x/health";
  RunOptions dry;
  agents_["api"]->unreachable = true;
  v1::Report r = Run(dry);
  ASSERT_EQ(r.gates_before_size(), 2);
  EXPECT_EQ(r.gates_before(0).name(), kHealthCheckGate);
  EXPECT_EQ(r.gates_before(0).where(), "coordinator");
  EXPECT_TRUE(r.gates_before(0).passed());
  EXPECT_FALSE(r.gates_before(1).passed());
  EXPECT_NE(r.gates_before(1).message().find("agent on host api did not run the probe"), std::string::npos)
      << r.gates_before(1).message();
}

}  // namespace
}  // namespace failover::coordinator

namespace failover::coordinator {
namespace {

class RunExecutorBudgetTest : public RunExecutorTest {
 protected:
  RunExecutorBudgetTest() {
    for (auto& s : config_.services)
      if (s.name == "sls-api") {
        s.min_healthy = 1;
        s.min_healthy_wait_ms = 1000;
      }
  }
  RunOptions ApiOnly() {
    RunOptions o = Execute();
    o.services = {"sls-api"};
    return o;
  }
};

TEST_F(RunExecutorBudgetTest, AStepWaitsThenFailsNamingTheUnhealthyInstanceAndStopsNothing) {
  agents_["panel"]->probes().Set("sls-api-health", false);
  v1::Report r = Run(ApiOnly());
  EXPECT_NE(r.outcome(), v1::RUN_SUCCEEDED);
  EXPECT_EQ(r.steps(0).status(), v1::STEP_FAILED);
  EXPECT_NE(r.steps(0).reason().find("panel"), std::string::npos) << r.steps(0).reason();
  EXPECT_NE(r.steps(0).reason().find("min_healthy"), std::string::npos) << r.steps(0).reason();
  for (const auto& o : order_) EXPECT_EQ(o.find("api:stop sls-api"), std::string::npos) << "stopped below budget: " << o;
  bool waited = false;
  for (const auto& e : events_) waited = waited || e.message().find("waiting up to 1000 ms") != std::string::npos;
  EXPECT_TRUE(waited);
}

TEST_F(RunExecutorBudgetTest, AStepGoesAheadOnceTheOtherInstanceIsHealthyAgainWithinTheWait) {
  agents_["panel"]->probes().Set("sls-api-health", false);
  on_event_ = [this](const v1::RunEvent& e) {
    if (e.message().find("waiting up to") != std::string::npos) agents_["panel"]->probes().Set("sls-api-health", true);
  };
  v1::Report r = Run(ApiOnly());
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_EQ(order_, (std::vector<std::string>{"api:stop sls-api.service", "api:start sls-api.service",
                                               "panel:stop sls-api.service", "panel:start sls-api.service"}));
}

TEST_F(RunExecutorBudgetTest, AServiceWithoutABudgetIsNotProbedBeforeItsSteps) {
  agents_["cerebro"]->probes().Set("sls-bot-health", false);
  RunOptions o = Execute();
  o.services = {"sls-cerebro"};
  v1::Report r = Run(o);
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  for (const auto& e : events_) EXPECT_EQ(e.message().find("availability budget"), std::string::npos) << e.message();
}

}  // namespace
}  // namespace failover::coordinator
