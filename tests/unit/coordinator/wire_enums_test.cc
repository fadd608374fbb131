#include "coordinator/wire_enums.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

TEST(WireEnums, OnlyADoneWouldRunOrSkippedAsNotNeededJobCountsAsSucceeded) {
  EXPECT_TRUE(JobSucceeded(JobResultOf("done")));
  EXPECT_TRUE(JobSucceeded(JobResultOf("would-run")));
  EXPECT_TRUE(JobSucceeded(JobResultOf("skipped-already-inactive")));  // the agent's skipped stop
  for (const char* r : {"failed", "timeout", "canceled", "dependency", "skipped", "start-limit-hit", "error", ""})
    EXPECT_FALSE(JobSucceeded(JobResultOf(r))) << r;
  EXPECT_EQ(JobResultOf("start-limit-hit"), v1::JOB_RESULT_START_LIMIT_HIT);
  EXPECT_EQ(JobResultOf("skipped-already-inactive"), v1::JOB_RESULT_ALREADY);
}

TEST(WireEnums, AnAgentsEnumWinsOverItsText) {
  v1::OperationRecord op;
  op.set_result("done");
  EXPECT_EQ(JobResultOf(op), v1::JOB_RESULT_DONE);
  op.set_job_result(v1::JOB_RESULT_TIMEOUT);
  EXPECT_EQ(JobResultOf(op), v1::JOB_RESULT_TIMEOUT);
}

TEST(WireEnums, AnUnspecifiedModeOrPolicyMeansTheConfigDefault) {
  EXPECT_FALSE(FromWire(v1::RUN_MODE_UNSPECIFIED).has_value());
  EXPECT_FALSE(FromWire(v1::FAILURE_POLICY_UNSPECIFIED).has_value());
  EXPECT_EQ(FromWire(ToWire(Mode::kStopAll)), Mode::kStopAll);
  EXPECT_EQ(FromWire(ToWire(FailurePolicy::kContinue)), FailurePolicy::kContinue);
}

TEST(WireEnums, KeepsTheWordsOfTheCliAndTheReport) {
  EXPECT_EQ(ToWire(Mode::kStopAll), v1::RUN_MODE_STOP_ALL);
  EXPECT_EQ(ToWire(FailurePolicy::kRestore), v1::FAILURE_POLICY_RESTORE);
  EXPECT_EQ(SeverityWord(v1::SEVERITY_WARN), "warn");
  EXPECT_EQ(SeverityWord(v1::SEVERITY_ERROR), "error");
  EXPECT_EQ(SeverityWord(v1::SEVERITY_OK), "ok");
  EXPECT_EQ(SeverityWord(v1::SEVERITY_INFO), "info");
}

}  // namespace
}  // namespace failover::coordinator
