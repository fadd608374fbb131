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

}  // namespace
}  // namespace failover
