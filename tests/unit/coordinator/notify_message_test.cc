#include "coordinator/notify_message.h"

#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

google::protobuf::Struct ParseJson(const std::string& s) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(s, &out).ok()) << s;
  return out;
}

v1::Report FailedReport() {
  v1::Report r;
  r.set_run_id("r-1");
  r.set_outcome(v1::RUN_FAILED);
  r.set_summary("sls-api on panel: \"start\" failed");
  r.add_services("sls-api");
  r.add_files("/var/log/failover/r-1.log");
  return r;
}

TEST(NotifyMessage, SlackBodyIsOnlyATextFieldWithOutcomeAndReportPath) {
  v1::Report r = FailedReport();
  RunNotice n{NotifyEvent::kFailure, "r-1", &r, "", "sls-api", true};
  auto body = ParseJson(RenderNotice(NotifyFormat::kSlack, n));
  ASSERT_EQ(body.fields().size(), 1u);
  const std::string text = body.fields().at("text").string_value();
  EXPECT_NE(text.find("failover r-1 of sls-api: FAILED"), std::string::npos) << text;
  EXPECT_NE(text.find("report: /var/log/failover/r-1.log"), std::string::npos) << text;
}

TEST(NotifyMessage, JsonBodyCarriesEventOutcomeAndFilesWithQuotesEscaped) {
  v1::Report r = FailedReport();
  RunNotice n{NotifyEvent::kEnd, "r-1", &r, "", "sls-api", true};
  auto body = ParseJson(RenderNotice(NotifyFormat::kJson, n));
  EXPECT_EQ(body.fields().at("event").string_value(), "end");
  EXPECT_EQ(body.fields().at("outcome").string_value(), "FAILED");
  EXPECT_EQ(body.fields().at("summary").string_value(), "sls-api on panel: \"start\" failed");
  EXPECT_EQ(body.fields().at("report_files").list_value().values(0).string_value(), "/var/log/failover/r-1.log");
}

TEST(NotifyMessage, StartNoticeSaysWhenTheRunActs) {
  RunNotice n{NotifyEvent::kStart, "r-2", nullptr, "starts in 600 s (scheduled run)", "sls-bot,sls-api", true};
  auto body = ParseJson(RenderNotice(NotifyFormat::kJson, n));
  EXPECT_EQ(body.fields().at("event").string_value(), "start");
  EXPECT_EQ(body.fields().count("outcome"), 0u);
  EXPECT_NE(body.fields().at("text").string_value().find("starts in 600 s"), std::string::npos);
}

}  // namespace
}  // namespace failover::coordinator
