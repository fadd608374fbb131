#include "coordinator/report_writer.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "failover/logging.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

v1::Report Sample() {
  v1::Report r;
  r.set_run_id("20261129T101500Z-ab12");
  r.set_mode("rolling");
  r.set_failure_policy("abort");
  r.add_services("sls-bot");
  r.set_outcome(v1::RUN_ABORTED);
  r.set_summary("ABORTED: step 01-restart-sls-bot failed: probe bot-health UNHEALTHY");
  r.set_started_at_unix_us(1'800'000'000'000'000);
  r.set_finished_at_unix_us(1'800'000'001'500'000);
  auto* st = r.add_initial_state();
  st->set_host("api");
  st->set_unit("sls-bot.service");
  st->set_active_state("active");
  st->set_sub_state("running");
  st->set_main_pid(4242);
  auto* op = r.add_operations();
  op->set_host("api");
  op->set_unit("sls-bot.service");
  op->set_operation(v1::OPERATION_STOP);
  op->set_result("done");
  op->set_duration_us(4500);
  auto* h = r.add_health();
  h->set_host("api");
  h->set_name("bot-health");
  h->set_kind("http");
  h->set_healthy(false);
  h->set_detail("HTTP 503 (expected 200) with token supersecret-value");
  h->set_attempts(7);
  auto* step = r.add_steps();
  step->set_id("01-restart-sls-bot");
  step->set_status(v1::STEP_FAILED);
  step->set_reason("probe bot-health UNHEALTHY");
  auto* step2 = r.add_steps();
  step2->set_id("02-restart-sls-api");
  step2->set_status(v1::STEP_NOT_RUN);
  return r;
}

TEST(ReportWriter, TextAndJsonListASkippedOperationWithWhy) {
  v1::Report r = Sample();
  auto* op = r.add_operations();
  op->set_host("panel");
  op->set_unit("sls-bot.service");
  op->set_operation(v1::OPERATION_STOP);
  op->set_result("skipped-already-inactive");
  op->set_skip(v1::SKIP_REASON_ALREADY_STOPPED);
  op->set_skip_reason("already inactive");
  op->set_step_id("01-restart-sls-bot");
  const std::string text = RenderText(r);
  const size_t at = text.find("stop skipped: already inactive");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_LT(text.rfind("panel", at), at);
  EXPECT_EQ(text.find("skipped-already-inactive"), std::string::npos) << "no duration line for a job never issued";
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(r, &json, o).ok());
  EXPECT_NE(json.find("\"skip\":\"SKIP_REASON_ALREADY_STOPPED\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"skip_reason\":\"already inactive\""), std::string::npos) << json;
}

TEST(ReportWriter, TextHasTheSeedSectionsInOrder) {
  const std::string t = RenderText(Sample());
  size_t a = t.find("== Initial state =="), b = t.find("== Operations executed =="), c = t.find("== Health results =="),
         d = t.find("== Final state ==");
  ASSERT_NE(a, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_LT(c, d);
  EXPECT_NE(t.find("ABORTED"), std::string::npos);
  EXPECT_NE(t.find("4242"), std::string::npos);
  EXPECT_NE(t.find("4.5 ms"), std::string::npos);
  EXPECT_NE(t.find("UNHEALTHY"), std::string::npos);
  EXPECT_NE(t.find("7 attempt(s)"), std::string::npos);
  EXPECT_NE(t.find("NOT RUN"), std::string::npos);
}

TEST(ReportWriter, JsonRoundTripsAndRedactsSecrets) {
  RegisterSecret("supersecret-value");
  const std::string json = RenderJson(Sample());
  EXPECT_EQ(json.find("supersecret-value"), std::string::npos);
  EXPECT_EQ(RenderText(Sample()).find("supersecret-value"), std::string::npos);
  v1::Report back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_EQ(back.run_id(), "20261129T101500Z-ab12");
  EXPECT_EQ(back.outcome(), v1::RUN_ABORTED);
  EXPECT_EQ(back.operations(0).duration_us(), 4500);
}

TEST(ReportWriter, WritesLogJsonMarkdownJunitAndHtmlNamedByUtcTimestamp) {
  const std::string dir = ::testing::TempDir() + "/fo-reports";
  std::filesystem::remove_all(dir);
  v1::Report r = Sample();
  auto path = WriteReportFiles(dir, &r);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_NE(path->find("failover_report_"), std::string::npos);
  ASSERT_EQ(r.files_size(), 5);
  const char* exts[] = {".log", ".json", ".md", ".junit.xml", ".html"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(std::filesystem::exists(r.files(i))) << r.files(i);
    EXPECT_EQ(r.files(i), path->substr(0, path->size() - 4) + exts[i]);
  }
  // No temporary file is left behind.
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  // The metrics are in the report, so in the JSON twin too.
  EXPECT_TRUE(r.has_metrics());
  std::ifstream json(r.files(1));
  std::stringstream text;
  text << json.rdbuf();
  EXPECT_NE(text.str().find("\"metrics\""), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST(ReportWriter, FailsNamingTheFileAndLeavesNoPartialFileWhenOneCannotBeWritten) {
  const std::string dir = ::testing::TempDir() + "/fo-reports-blocked";
  std::filesystem::remove_all(dir);
  v1::Report r = Sample();
  auto first = WriteReportFiles(dir, &r);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string md = r.files(2);
  std::filesystem::remove(md);
  std::filesystem::create_directories(md + ".tmp");  // the .md's temp file cannot be opened
  auto second = WriteReportFiles(dir, &r);
  EXPECT_FALSE(second.ok());
  EXPECT_NE(std::string(second.status().message()).find("cannot write report " + md), std::string::npos)
      << second.status();
  EXPECT_FALSE(std::filesystem::exists(md));
  std::filesystem::remove_all(dir);
}

TEST(ReportWriter, AReportsDirThatIsARegularFileFailsNamingItAndListsNoFiles) {
  const std::string dir = ::testing::TempDir() + "/fo-reports-is-a-file";
  std::filesystem::remove_all(dir);
  std::ofstream(dir) << "x";
  v1::Report r = Sample();
  r.add_files("stale/path.log");
  auto path = WriteReportFiles(dir, &r);
  EXPECT_FALSE(path.ok());
  EXPECT_NE(std::string(path.status().message()).find("cannot create report directory " + dir), std::string::npos)
      << path.status();
  EXPECT_EQ(r.files_size(), 0);
  std::filesystem::remove(dir);
}

TEST(ReportWriter, AFailedWriteRemovesTheFilesItAlreadyWroteAndLeavesNoTmp) {
  const std::string dir = ::testing::TempDir() + "/fo-reports-half";
  std::filesystem::remove_all(dir);
  v1::Report r = Sample();
  auto first = WriteReportFiles(dir, &r);
  ASSERT_TRUE(first.ok()) << first.status();
  const std::vector<std::string> files(r.files().begin(), r.files().end());
  for (const auto& f : files) std::filesystem::remove(f);
  std::filesystem::create_directories(files[3] + ".tmp");  // the JUnit file's temp cannot be opened
  std::ofstream(files[3] + ".tmp/keep") << "x";           // nor removed: the write fails for good
  auto second = WriteReportFiles(dir, &r);
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(r.files_size(), 0);
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(std::filesystem::exists(files[i])) << files[i] << " left half a set";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == std::filesystem::path(files[3]).filename().string() + ".tmp") << "left behind: " << name;
  }
  std::filesystem::remove_all(dir);
}

TEST(ReportWriter, TextShowsTheGatesBeforeAndAfterAndWhyTheRunStopped) {
  v1::Report r = Sample();
  r.set_forced(true);
  r.add_forced_failing_gates("api-port");
  v1::GateResult* g = r.add_gates_before();
  g->set_name("api-port");
  g->set_where("api");
  g->set_target("127.0.0.1:8080");
  g->set_message("connection refused");
  g->set_attempts(1);
  *r.add_gates_after() = *g;
  r.mutable_gates_after(0)->set_passed(true);
  r.mutable_gates_after(0)->set_message("connected");
  r.add_stop_conditions("worker-ok");
  r.mutable_stop_condition()->set_name("worker-ok");
  r.mutable_stop_condition()->set_where("cerebro");
  r.mutable_stop_condition()->set_message("HTTP 500 (expected 200)");
  const std::string t = RenderText(r);
  const size_t gates = t.find("== Gates (before → after) =="), final_state = t.find("== Final state ==");
  ASSERT_NE(gates, std::string::npos) << t;
  EXPECT_LT(t.find("== Health results =="), gates);
  EXPECT_LT(gates, final_state);
  EXPECT_NE(t.find("forced:    yes (--force over failing pre-flight gates: api-port)"), std::string::npos) << t;
  EXPECT_NE(t.find("stopped:   stop condition worker-ok on cerebro tripped at"), std::string::npos) << t;
  EXPECT_NE(t.find("before  api-port             api          FAILED "), std::string::npos) << t;
  EXPECT_NE(t.find("after   api-port             api          PASSED "), std::string::npos) << t;
  EXPECT_NE(t.find("127.0.0.1:8080: connection refused"), std::string::npos) << t;
  EXPECT_NE(t.find("stop conditions watched: worker-ok"), std::string::npos) << t;
  // JSON twin: the new fields by their proto names.
  const std::string j = RenderJson(r);
  for (const char* field : {"\"gates_before\"", "\"gates_after\"", "\"forced\": true", "\"stop_condition\"",
                            "\"forced_failing_gates\""})
    EXPECT_NE(j.find(field), std::string::npos) << field;
}

}  // namespace
}  // namespace failover::coordinator
