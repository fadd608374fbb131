// The verdicts of the answer-reading probes: HTTP body assertions, Prometheus answers, restic's
// snapshot list. Pure: bodies are given as text.
#include "failover/probe_checks.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace failover {
namespace {

v1::HttpProbe JsonField(const std::string& field, const std::string& equals) {
  v1::HttpProbe h;
  h.set_url("http://127.0.0.1:8080/health");
  h.set_json_field(field);
  h.set_json_equals(equals);
  return h;
}

TEST(HttpBody, AJsonFieldWithTheWantedValuePasses) {
  EXPECT_TRUE(CheckHttpBody(JsonField("status", "ok"), R"({"status":"ok","pid":3})").healthy);
  EXPECT_TRUE(CheckHttpBody(JsonField("data.state", "up"), R"({"data":{"state":"up"}})").healthy);
  EXPECT_TRUE(CheckHttpBody(JsonField("pid", "3"), R"({"pid":3})").healthy);
  EXPECT_TRUE(CheckHttpBody(JsonField("ready", "true"), R"({"ready":true})").healthy);
}

TEST(HttpBody, ADegradedStatusFailsNamingTheFieldTheValueAndTheWant) {
  ProbeVerdict v = CheckHttpBody(JsonField("status", "ok"), R"({"status":"degraded"})");
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.detail, "json field status is \"degraded\", want \"ok\"");
}

TEST(HttpBody, AMissingFieldAndANonJsonBodyFailSayingSo) {
  ProbeVerdict missing = CheckHttpBody(JsonField("data.state", "up"), R"({"data":{}})");
  EXPECT_FALSE(missing.healthy);
  EXPECT_EQ(missing.detail, "json field data.state is missing");
  ProbeVerdict junk = CheckHttpBody(JsonField("status", "ok"), "<html>oops</html>");
  EXPECT_FALSE(junk.healthy);
  EXPECT_NE(junk.detail.find("not JSON"), std::string::npos) << junk.detail;
}

TEST(HttpBody, BodyContainsLooksForTheSubstring) {
  v1::HttpProbe h;
  h.set_body_contains("ready");
  EXPECT_TRUE(CheckHttpBody(h, "all ready here").healthy);
  ProbeVerdict v = CheckHttpBody(h, "starting");
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.detail, "body does not contain \"ready\"");
}

TEST(HttpBody, TheBodyBoundDefaultsTo64KiBAndIsCappedAt1MiB) {
  v1::HttpProbe h;
  EXPECT_EQ(BodyLimit(h), 64u * 1024);
  h.set_max_body_bytes(10);
  EXPECT_EQ(BodyLimit(h), 10u);
  h.set_max_body_bytes(5u << 20);
  EXPECT_EQ(BodyLimit(h), 1u << 20);
}

v1::PrometheusProbe Alert(const std::string& name) {
  v1::PrometheusProbe p;
  p.set_url("http://10.77.0.1:19090");
  p.set_alert(name);
  return p;
}

const char kAlerts[] = R"({"status":"success","data":{"alerts":[
  {"labels":{"alertname":"SlsDown","instance":"api","severity":"page"},"state":"firing","activeAt":"x","value":"1"},
  {"labels":{"alertname":"SlsDown","instance":"panel"},"state":"pending"},
  {"labels":{"alertname":"Other","instance":"api"},"state":"firing"}]}})";

TEST(PrometheusAnswer, AFiringAlertFailsNamingItsLabels) {
  ProbeVerdict v = EvaluatePrometheusAnswer(Alert("SlsDown"), kAlerts);
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.detail, "1 matching alert(s) firing: {alertname=\"SlsDown\",instance=\"api\",severity=\"page\"} firing");
}

TEST(PrometheusAnswer, PendingAlertsCountOnlyWithIncludePending) {
  v1::PrometheusProbe p = Alert("SlsDown");
  (*p.mutable_match())["instance"] = "panel";
  EXPECT_TRUE(EvaluatePrometheusAnswer(p, kAlerts).healthy);
  p.set_include_pending(true);
  ProbeVerdict v = EvaluatePrometheusAnswer(p, kAlerts);
  EXPECT_FALSE(v.healthy);
  EXPECT_NE(v.detail.find("instance=\"panel\"} pending"), std::string::npos) << v.detail;
}

TEST(PrometheusAnswer, NoMatchingAlertPasses) {
  EXPECT_TRUE(EvaluatePrometheusAnswer(Alert("Missing"), kAlerts).healthy);
  v1::PrometheusProbe p = Alert("SlsDown");
  (*p.mutable_match())["instance"] = "cerebro";
  EXPECT_TRUE(EvaluatePrometheusAnswer(p, kAlerts).healthy);
}

TEST(PrometheusAnswer, JunkAnErrorStatusAndAMissingListFailSayingWhy) {
  ProbeVerdict junk = EvaluatePrometheusAnswer(Alert("SlsDown"), "not json at all");
  EXPECT_FALSE(junk.healthy);
  EXPECT_NE(junk.detail.find("not JSON"), std::string::npos) << junk.detail;
  ProbeVerdict err = EvaluatePrometheusAnswer(Alert("SlsDown"), R"({"status":"error","error":"bad query"})");
  EXPECT_FALSE(err.healthy);
  EXPECT_EQ(err.detail, "answer status is \"error\": bad query, want \"success\"");
  ProbeVerdict nolist = EvaluatePrometheusAnswer(Alert("SlsDown"), R"({"status":"success","data":{}})");
  EXPECT_FALSE(nolist.healthy);
  EXPECT_NE(nolist.detail.find("no data.alerts list"), std::string::npos) << nolist.detail;
}

TEST(PrometheusAnswer, AQueryPassesOnlyWhenItsVectorIsEmpty) {
  v1::PrometheusProbe p;
  p.set_query("sls_up == 0");
  EXPECT_EQ(PrometheusRequestPath(p), "/api/v1/query?query=sls_up%20%3D%3D%200");
  EXPECT_TRUE(EvaluatePrometheusAnswer(p, R"({"status":"success","data":{"resultType":"vector","result":[]}})").healthy);
  ProbeVerdict v = EvaluatePrometheusAnswer(
      p, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"api"},"value":[1,"0"]}]}})");
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.detail, "1 series in the query's answer: {job=\"api\"}");
}

int64_t At(const std::string& rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return absl::ToUnixMicros(t);
}

v1::ResticProbe Restic(uint64_t max_age_ms) {
  v1::ResticProbe r;
  r.set_repository("backups");
  r.set_max_age_ms(max_age_ms);
  return r;
}

TEST(ResticAnswer, AFreshSnapshotPasses) {
  const char json[] = R"([{"time":"2026-11-29T16:00:00.123456789+00:00","hostname":"api","id":"ab"}])";
  ProbeVerdict v = EvaluateResticSnapshots(Restic(3600'000), json, At("2026-11-29T16:10:00Z"));
  EXPECT_TRUE(v.healthy) << v.detail;
  EXPECT_EQ(v.detail, "latest snapshot 2026-11-29T16:00:00Z is 9m old");
}

TEST(ResticAnswer, AStaleSnapshotFailsNamingItsTimeAndAge) {
  const char json[] = R"([{"time":"2026-11-20T03:00:00Z"},{"time":"2026-11-19T03:00:00Z"}])";
  ProbeVerdict v = EvaluateResticSnapshots(Restic(86'400'000), json, At("2026-11-29T04:00:00Z"));
  EXPECT_FALSE(v.healthy);
  EXPECT_EQ(v.detail, "latest snapshot 2026-11-20T03:00:00Z is 9d old, max 1d");
}

TEST(ResticAnswer, NoSnapshotAndJunkFail) {
  EXPECT_EQ(EvaluateResticSnapshots(Restic(1000), "[]", 0).detail, "no snapshot");
  EXPECT_FALSE(EvaluateResticSnapshots(Restic(1000), "null", 0).healthy);
  EXPECT_FALSE(EvaluateResticSnapshots(Restic(1000), "{\"a\":1}", 0).healthy);
}

TEST(ResticAnswer, GroupedOutputIsReadToo) {
  const char json[] = R"([{"group_key":{"hostname":"api"},"snapshots":[{"time":"2026-11-29T16:00:00Z"}]}])";
  EXPECT_TRUE(EvaluateResticSnapshots(Restic(3600'000), json, At("2026-11-29T16:30:00Z")).healthy);
}

}  // namespace
}  // namespace failover
