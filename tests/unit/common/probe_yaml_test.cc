// YAML of the answer-reading probe kinds: shapes and file:line errors.
#include "failover/probe_yaml.h"

#include "gtest/gtest.h"

namespace failover {
namespace {

YAML::Node Yaml(const std::string& text) { return YAML::Load(text); }

TEST(ProbeYaml, ReadsHttpBodyAssertions) {
  v1::HttpProbe h;
  ASSERT_TRUE(ParseHttpBodyFields(YamlFields("sls.yaml"),
                                  Yaml("{json_field: data.state, json_equals: ok, body_contains: up, max_body_bytes: 4096}"),
                                  "services[0].probes[0].http", &h)
                  .ok());
  EXPECT_EQ(h.json_field(), "data.state");
  EXPECT_EQ(h.json_equals(), "ok");
  EXPECT_EQ(h.body_contains(), "up");
  EXPECT_EQ(h.max_body_bytes(), 4096u);
}

TEST(ProbeYaml, ABodyBoundOver1MiBNamesFileLineAndField) {
  v1::HttpProbe h;
  absl::Status s = ParseHttpBodyFields(YamlFields("sls.yaml"), Yaml("\n{max_body_bytes: 2000000}"), "probes[0].http", &h);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("sls.yaml:2: probes[0].http.max_body_bytes"), std::string::npos) << s;
}

TEST(ProbeYaml, ReadsAPrometheusAlertWithLabelsAndPending) {
  v1::PrometheusProbe p;
  ASSERT_TRUE(ParsePrometheusProbe(YamlFields("sls.yaml"),
                                   Yaml("{url: 'http://10.77.0.1:19090', alert: SlsDown, match: {service: sls-api}, "
                                        "include_pending: true}"),
                                   "guards[0].probe.prometheus", &p)
                  .ok());
  EXPECT_EQ(p.url(), "http://10.77.0.1:19090");
  EXPECT_EQ(p.alert(), "SlsDown");
  EXPECT_EQ(p.match().at("service"), "sls-api");
  EXPECT_TRUE(p.include_pending());
}

TEST(ProbeYaml, APrometheusProbeWithoutUrlOrWithAnUnknownKeyIsRefused) {
  v1::PrometheusProbe p;
  EXPECT_NE(ParsePrometheusProbe(YamlFields("sls.yaml"), Yaml("{alert: X}"), "g.prometheus", &p).message().find(
                "g.prometheus.url: missing"),
            std::string::npos);
  EXPECT_NE(ParsePrometheusProbe(YamlFields("sls.yaml"), Yaml("{url: 'http://x/', alerts: X}"), "g.prometheus", &p)
                .message()
                .find("unknown field"),
            std::string::npos);
}

TEST(ProbeYaml, ReadsAResticProbeAndRefusesAMissingAge) {
  v1::ResticProbe r;
  ASSERT_TRUE(ParseResticProbe(YamlFields("sls.yaml"), Yaml("{repository: backups, max_age_ms: 86400000, host: api, tag: nightly}"),
                               "g.restic", &r)
                  .ok());
  EXPECT_EQ(r.repository(), "backups");
  EXPECT_EQ(r.max_age_ms(), 86400000u);
  EXPECT_EQ(r.host(), "api");
  EXPECT_EQ(r.tag(), "nightly");
  EXPECT_NE(ParseResticProbe(YamlFields("sls.yaml"), Yaml("{repository: backups}"), "g.restic", &r).message().find(
                "g.restic.max_age_ms: missing"),
            std::string::npos);
}

}  // namespace
}  // namespace failover
