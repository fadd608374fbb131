#include "failover/probe_spec.h"

#include "gtest/gtest.h"

namespace failover {
namespace {

v1::ProbeSpec Http(const std::string& url) {
  v1::ProbeSpec p;
  p.set_name("api-health");
  p.set_timeout_ms(500);
  p.mutable_http()->set_url(url);
  return p;
}

v1::ProbeSpec Unit(const std::string& unit, const std::string& result_unit = "") {
  v1::ProbeSpec p;
  p.set_name("monitor");
  p.set_timeout_ms(500);
  p.mutable_unit()->set_unit(unit);
  p.mutable_unit()->set_result_unit(result_unit);
  return p;
}

TEST(ProbeSpec, AcceptsHttpTcpAndUnitProbes) {
  EXPECT_TRUE(ValidateProbeSpec(Http("http://127.0.0.1:8080/health")).ok());
  v1::ProbeSpec tcp;
  tcp.set_name("db");
  tcp.set_timeout_ms(100);
  tcp.mutable_tcp()->set_host("127.0.0.1");
  tcp.mutable_tcp()->set_port(5432);
  EXPECT_TRUE(ValidateProbeSpec(tcp).ok());
  EXPECT_TRUE(ValidateProbeSpec(Unit("sls-monitor.timer", "sls-monitor.service")).ok());
}

TEST(ProbeSpec, RefusesBadUrlsNamingTheProbe) {
  for (const char* url : {"file:///etc/shadow", "http://user:pw@host/x", "http://a b/", "gopher://x/"}) {
    absl::Status s = ValidateProbeSpec(Http(url));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << url;
    EXPECT_NE(s.message().find("probe \"api-health\": url"), std::string::npos) << s;
  }
}

TEST(ProbeSpec, RefusesMissingKindZeroTimeoutAndBadPort) {
  v1::ProbeSpec none;
  none.set_name("x");
  none.set_timeout_ms(1);
  EXPECT_NE(ValidateProbeSpec(none).message().find("no kind"), std::string::npos);
  v1::ProbeSpec zero = Http("http://127.0.0.1/");
  zero.set_timeout_ms(0);
  EXPECT_NE(ValidateProbeSpec(zero).message().find("timeout_ms must be 1.."), std::string::npos);
  v1::ProbeSpec tcp;
  tcp.set_name("db");
  tcp.set_timeout_ms(1);
  tcp.mutable_tcp()->set_host("h");
  tcp.mutable_tcp()->set_port(70000);
  EXPECT_NE(ValidateProbeSpec(tcp).message().find("port 1..65535"), std::string::npos);
}

TEST(ProbeSpec, RefusesInvalidUnitNamesIncludingTemplates) {
  EXPECT_EQ(ValidateProbeSpec(Unit("/bin/sh")).code(), absl::StatusCode::kInvalidArgument);
  absl::Status s = ValidateProbeSpec(Unit("sls-monitor.timer", "sls-bot@.service"));
  EXPECT_NE(s.message().find("result_unit: unit name \"sls-bot@.service\" is a template"), std::string::npos) << s;
}

TEST(ProbeSpec, WithAnAllowlistRefusesUnitsOffItButNotOtherKinds) {
  auto list = UnitAllowlist::Create({"sls-*.service", "sls-monitor.timer"});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(ValidateProbeSpec(Unit("sls-monitor.timer", "sls-monitor.service"), *list).ok());
  EXPECT_EQ(ValidateProbeSpec(Unit("ssh.service"), *list).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ValidateProbeSpec(Unit("sls-monitor.timer", "cron.service"), *list).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(ValidateProbeSpec(Http("http://127.0.0.1:8080/health"), *list).ok());
  EXPECT_EQ(ValidateProbeSpec(Http("file:///x"), *list).code(), absl::StatusCode::kInvalidArgument)
      << "the shape check runs first";
}


std::string ErrorOf(const v1::ProbeSpec& p) {
  absl::Status s = ValidateProbeSpec(p);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << p.DebugString();
  return std::string(s.message());
}

TEST(ProbeSpec, BodyAssertionsAreCheckedNamingTheField) {
  v1::ProbeSpec p = Http("http://127.0.0.1:8080/health");
  p.mutable_http()->set_json_field("status");
  p.mutable_http()->set_json_equals("ok");
  EXPECT_TRUE(ValidateProbeSpec(p).ok());
  p.mutable_http()->set_max_body_bytes(2u << 20);
  EXPECT_EQ(ErrorOf(p), "probe \"api-health\": http.max_body_bytes must be at most 1048576 (1 MiB)");
  p.mutable_http()->set_max_body_bytes(0);
  p.mutable_http()->set_json_field("data..state");
  EXPECT_EQ(ErrorOf(p), "probe \"api-health\": http.json_field has an empty path segment");
  p.mutable_http()->set_json_field("");
  EXPECT_NE(ErrorOf(p).find("http.json_equals needs http.json_field"), std::string::npos);
}

v1::ProbeSpec Prom() {
  v1::ProbeSpec p;
  p.set_name("alerts");
  p.set_timeout_ms(1000);
  p.mutable_prometheus()->set_url("http://10.77.0.1:19090");
  p.mutable_prometheus()->set_alert("SlsDown");
  return p;
}

TEST(ProbeSpec, PrometheusNeedsAUrlAndExactlyOneOfAlertOrQuery) {
  EXPECT_TRUE(ValidateProbeSpec(Prom()).ok());
  v1::ProbeSpec both = Prom();
  both.mutable_prometheus()->set_query("up == 0");
  EXPECT_NE(ErrorOf(both).find("probe \"alerts\": prometheus needs exactly one of alert"), std::string::npos);
  v1::ProbeSpec url = Prom();
  url.mutable_prometheus()->set_url("file:///etc/passwd");
  EXPECT_NE(ErrorOf(url).find("prometheus.url must start with http://"), std::string::npos);
  v1::ProbeSpec label = Prom();
  (*label.mutable_prometheus()->mutable_match())["0bad"] = "x";
  EXPECT_NE(ErrorOf(label).find("prometheus.match label name \"0bad\""), std::string::npos);
}

v1::ProbeSpec Restic() {
  v1::ProbeSpec p;
  p.set_name("backup");
  p.set_timeout_ms(5000);
  p.mutable_restic()->set_repository("backups");
  p.mutable_restic()->set_max_age_ms(86400000);
  return p;
}

TEST(ProbeSpec, ResticTakesARepositoryNameNeverAPath) {
  EXPECT_TRUE(ValidateProbeSpec(Restic()).ok());
  v1::ProbeSpec path = Restic();
  path.mutable_restic()->set_repository("/srv/restic");
  EXPECT_NE(ErrorOf(path).find("probe \"backup\": restic.repository must name a repository"), std::string::npos);
  v1::ProbeSpec age = Restic();
  age.mutable_restic()->set_max_age_ms(0);
  EXPECT_NE(ErrorOf(age).find("restic.max_age_ms must be 1.."), std::string::npos);
  v1::ProbeSpec opt = Restic();
  opt.mutable_restic()->set_tag("-x");
  EXPECT_NE(ErrorOf(opt).find("must not start with -"), std::string::npos);
}

TEST(ProbeSpec, NoFailureSinceNeedsAResultUnit) {
  v1::ProbeSpec p = Unit("sls-monitor.timer");
  p.mutable_unit()->set_no_failure_since_unix_us(1);
  EXPECT_NE(ErrorOf(p).find("unit.no_failure_since_unix_us needs unit.result_unit"), std::string::npos);
  p.mutable_unit()->set_result_unit("sls-monitor.service");
  EXPECT_TRUE(ValidateProbeSpec(p).ok());
}

TEST(ProbeSpec, TheCoordinatorRefusesResticAndUnitProbesNamingWhy) {
  EXPECT_TRUE(CheckRunnableOnCoordinator(Prom()).ok());
  absl::Status s = CheckRunnableOnCoordinator(Restic());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("restic probes run on agents only"), std::string::npos) << s;
  EXPECT_FALSE(CheckRunnableOnCoordinator(Unit("sls-monitor.timer")).ok());
}

}  // namespace
}  // namespace failover
