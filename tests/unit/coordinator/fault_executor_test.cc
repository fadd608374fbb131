// FaultExecutor over FakeAgents (the real agent FaultInjector over FakeSystemd): detection and
// recovery from the agents' timestamps, systemd restart vs failover, blast radius, dry runs.
#include "coordinator/fault_executor.h"

#include "coordinator/fake_agent.h"
#include "coordinator/sls_test_config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using failover::testing::FakeAgent;
using failover::testing::FakeProbes;

class FaultExecutorTest : public ::testing::Test {
 protected:
  FaultExecutorTest() {
    config_ = testing::SlsTestConfig();
    for (const auto& h : config_.hosts) {
      agents_[h.name] = std::make_unique<FakeAgent>(h.name, &order_, &order_mu_);
      for (const auto& u : h.units) agents_[h.name]->systemd().AddUnit(u);
    }
  }

  // Runs with the api agent's clock (its reads are stamped with it), so the times are exact.
  v1::Report Run(FaultRunOptions o) {
    std::map<std::string, AgentClient*> clients;
    for (auto& [h, a] : agents_) clients[h] = a.get();
    if (o.candidates.empty()) o.candidates = o.picks;
    FaultExecutor ex(
        config_, o, clients, &coordinator_probes_, &agents_["api"]->clock(),
        [this](v1::RunEvent e) { events_.push_back(e); },
        [this](const std::string& service) {
          failovers_.push_back(service);
          agents_["api"]->systemd().RunJob(JobKind::kStart, "sls-bot.service", std::chrono::milliseconds(1));
          v1::Report r;
          r.set_outcome(v1::RUN_SUCCEEDED);
          r.set_summary("restarted " + service);
          return r;
        },
        [this] { return stop_; });
    return ex.Run("chaos-1");
  }

  FaultRunOptions Inject() {
    FaultRunOptions o;
    o.execute = true;
    o.picks = {{"sls-bot", "sls-bot.service", "api"}};
    o.recover_deadline_ms = 1000;
    return o;
  }

  Config config_;
  std::map<std::string, std::unique_ptr<FakeAgent>> agents_;
  std::vector<std::string> order_;
  std::mutex order_mu_;
  FakeProbes coordinator_probes_;
  std::vector<v1::RunEvent> events_;
  std::vector<std::string> failovers_;
  std::string stop_;
};

TEST_F(FaultExecutorTest, AKilledUnitThatSystemdRestartsIsRecoveredBySystemdWithItsMttr) {
  agents_["api"]->systemd().SetRestartAfterReads("sls-bot.service", 3);
  v1::Report r = Run(Inject());
  ASSERT_EQ(r.faults_size(), 1);
  const auto& f = r.faults(0);
  EXPECT_EQ(f.recovered_by(), v1::RECOVERED_BY_SYSTEMD_RESTART) << f.note();
  EXPECT_GT(f.injected_at_unix_us(), 0);
  EXPECT_GE(f.detected_at_unix_us(), f.injected_at_unix_us());
  EXPECT_GT(f.recovered_at_unix_us(), f.detected_at_unix_us());
  EXPECT_EQ(f.mttr_us(), f.recovered_at_unix_us() - f.injected_at_unix_us());
  EXPECT_EQ(f.time_to_detect_us(), f.detected_at_unix_us() - f.injected_at_unix_us());
  EXPECT_EQ(f.n_restarts_after(), f.n_restarts_before() + 1);
  EXPECT_EQ(r.outcome(), v1::RUN_SUCCEEDED) << r.summary();
  EXPECT_TRUE(failovers_.empty());
  const auto journal = agents_["api"]->systemd().journal();
  ASSERT_FALSE(journal.empty());
  EXPECT_EQ(journal.back(), "kill all SIGKILL sls-bot.service");
}

TEST_F(FaultExecutorTest, AUnitSystemdDoesNotBringBackIsFailedOverAfterTheDeadline) {
  agents_["api"]->systemd().SetRestartAfterReads("sls-bot.service", -1);
  v1::Report r = Run(Inject());
  ASSERT_EQ(r.faults_size(), 1);
  EXPECT_EQ(r.faults(0).recovered_by(), v1::RECOVERED_BY_FAILOVER) << r.faults(0).note();
  EXPECT_EQ(failovers_, std::vector<std::string>{"sls-bot"});
  EXPECT_NE(r.faults(0).failover_summary().find("restarted sls-bot"), std::string::npos);
  EXPECT_GE(r.faults(0).mttr_us(), 1000 * 1000) << "the deadline passed first";
}

TEST_F(FaultExecutorTest, ThenFailoverRunsTheFailoverAfterTheRecovery) {
  FaultRunOptions o = Inject();
  o.then_failover = true;
  v1::Report r = Run(o);
  ASSERT_EQ(r.faults_size(), 1);
  EXPECT_EQ(r.faults(0).recovered_by(), v1::RECOVERED_BY_SYSTEMD_RESTART);
  EXPECT_EQ(failovers_, std::vector<std::string>{"sls-bot"});
}

TEST_F(FaultExecutorTest, ADryRunKillsNothingAndSaysWhatItWouldDo) {
  FaultRunOptions o = Inject();
  o.execute = false;
  v1::Report r = Run(o);
  ASSERT_EQ(r.faults_size(), 1);
  EXPECT_EQ(r.faults(0).recovered_by(), v1::RECOVERED_BY_NOT_INJECTED);
  EXPECT_NE(r.faults(0).note().find("would send SIGKILL"), std::string::npos) << r.faults(0).note();
  EXPECT_TRUE(r.dry_run());
  for (const auto& j : agents_["api"]->systemd().journal()) EXPECT_EQ(j.find("kill"), std::string::npos) << j;
}

TEST_F(FaultExecutorTest, AnUnhealthyServiceIsSkippedAndNothingIsKilled) {
  agents_["api"]->probes().Set("sls-bot-health", false);
  v1::Report r = Run(Inject());
  ASSERT_EQ(r.faults_size(), 1);
  EXPECT_NE(r.faults(0).note().find("unhealthy"), std::string::npos) << r.faults(0).note();
  EXPECT_EQ(r.faults(0).injected_at_unix_us(), 0);
  EXPECT_TRUE(agents_["api"]->systemd().journal().empty());
}

TEST_F(FaultExecutorTest, AUnitOffTheAgentsAllowlistIsRefusedAndRecorded) {
  agents_["api"]->allowlist = *UnitAllowlist::Create({"sls-api.service"});
  v1::Report r = Run(Inject());
  ASSERT_EQ(r.faults_size(), 1);
  EXPECT_EQ(r.faults(0).note().rfind("refused", 0), 0u) << r.faults(0).note();
  EXPECT_EQ(r.outcome(), v1::RUN_FAILED);
  EXPECT_TRUE(agents_["api"]->systemd().journal().empty());
}

TEST_F(FaultExecutorTest, AStopRequestEndsTheRunBeforeTheNextRound) {
  stop_ = "aborted by test";
  v1::Report r = Run(Inject());
  EXPECT_EQ(r.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(r.faults_size(), 0);
  EXPECT_NE(r.summary().find("aborted by test"), std::string::npos);
}

TEST(FaultTimes, MttrIsRecoveredMinusInjectedAndDetectIsDetectedMinusInjected) {
  v1::FaultRecord f;
  f.set_injected_at_unix_us(1'000'000);
  f.set_detected_at_unix_us(1'040'000);
  f.set_recovered_at_unix_us(1'350'000);
  ComputeFaultTimes(&f);
  EXPECT_EQ(f.time_to_detect_us(), 40'000);
  EXPECT_EQ(f.mttr_us(), 350'000);
}

TEST(FaultTimes, AFaultThatNeverRecoveredHasNoMttr) {
  v1::FaultRecord f;
  f.set_injected_at_unix_us(1'000'000);
  f.set_detected_at_unix_us(1'040'000);
  ComputeFaultTimes(&f);
  EXPECT_EQ(f.mttr_us(), 0);
  EXPECT_EQ(f.time_to_detect_us(), 40'000);
}

}  // namespace
}  // namespace failover::coordinator
