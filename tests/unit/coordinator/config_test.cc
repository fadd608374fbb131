#include "coordinator/config.h"

#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

const char kGood[] = R"(defaults:
  mode: rolling
  max_parallel: 2
  job_timeout_ms: 10000
  lease_ms: 30000
hosts:
  api: {agent: "127.0.0.1:7701", units: [sls-api.service, sls-bot.service]}
  panel: {agent: "127.0.0.1:7702", units: [sls-panel.service]}
services:
  - name: sls-bot
  - name: sls-api
    probes:
      - {name: api-health, http: {url: "http://127.0.0.1:8080/health", bearer_secret: panel_token}, timeout_ms: 500}
  - name: sls-panel
    max_failed_hosts: 50%
order: [sls-bot, sls-api]
health_check:
  api_base: {env: API_BASE, default: "http://127.0.0.1:8080"}
  token: {env: PANEL_TOKEN}
guards:
  - host: panel
    probe: {name: monitor, unit: {unit: sls-monitor.timer, result_unit: sls-monitor.service}}
insecure_plaintext: true
)";

absl::StatusOr<Config> Parse(const std::string& yaml, std::map<std::string, std::string> env = {{"PANEL_TOKEN", "s3cr3t-token"}}) {
  return ParseConfig(yaml, "sls.yaml", env);
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(Config, ParsesHostsServicesOrderProbesAndHealthCheck) {
  auto c = Parse(kGood);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hosts.size(), 2u);
  EXPECT_EQ(c->FindService("sls-bot")->unit, "sls-bot.service");
  EXPECT_EQ(c->default_order, (std::vector<std::string>{"sls-bot", "sls-api"}));
  EXPECT_EQ(c->FindService("sls-api")->probes[0].http().url(), "http://127.0.0.1:8080/health");
  EXPECT_EQ(c->FindService("sls-api")->probes[0].timeout_ms(), 500u);
  EXPECT_TRUE(c->FindService("sls-panel")->failure_percent);
  EXPECT_EQ(c->FindService("sls-panel")->max_failed_hosts, 50u);
  EXPECT_EQ(c->health_check.url, "http://127.0.0.1:8080/health");
  EXPECT_EQ(c->health_check.token, "s3cr3t-token");
  EXPECT_EQ(c->health_check.availability_interval_ms, 100u) << "the default";
  EXPECT_EQ(c->defaults.max_parallel, 2u);
  EXPECT_EQ(c->guards[0].probe.unit().result_unit(), "sls-monitor.service");
}

TEST(Config, ReadsTheAvailabilityPollInterval) {
  auto c = Parse(Replace(kGood, "token: {env: PANEL_TOKEN}", "token: {env: PANEL_TOKEN}\n  availability_interval_ms: 250"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->health_check.availability_interval_ms, 250u);
}

struct BadCase {
  const char* name;  // test name suffix
  const char* from;
  const char* to;
  const char* expect;  // substring of the error: file:line: field
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigErrors, NameFileLineAndField) {
  auto c = Parse(Replace(kGood, GetParam().from, GetParam().to));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find(GetParam().expect), std::string::npos) << c.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Config, ConfigErrors,
    ::testing::Values(
        BadCase{"BadMode", "mode: rolling", "mode: sideways", "sls.yaml:2: defaults.mode"},
        BadCase{"ZeroMaxParallel", "max_parallel: 2", "max_parallel: 0", "sls.yaml:3: defaults.max_parallel"},
        BadCase{"NegativeJobTimeout", "job_timeout_ms: 10000", "job_timeout_ms: -5", "sls.yaml:4: defaults.job_timeout_ms: must be greater than 0"},
        BadCase{"LeaseShorterThanTwoJobs", "lease_ms: 30000", "lease_ms: 12000", "sls.yaml:5: defaults.lease_ms: must be at least twice"},
        BadCase{"PathAsUnit", "sls-api.service, sls-bot", "sls-api.service, /bin/sh", "sls.yaml:7: hosts.api.units"},
        BadCase{"UnknownField", "  - name: sls-bot\n", "  - name: sls-bot\n    colour: red\n", "sls.yaml:11: services[0].colour: unknown field"},
        BadCase{"UnknownServiceInOrder", "order: [sls-bot, sls-api]", "order: [sls-bot, sls-nope]", "sls.yaml:16: order: unknown service \"sls-nope\""},
        BadCase{"ZeroProbeTimeout", "timeout_ms: 500}", "timeout_ms: 0}", "sls.yaml:13: services[1].probes[0].timeout_ms"},
        BadCase{"FileUrl", "http://127.0.0.1:8080/health\"", "file:///etc/shadow\"", "services[1].probes[0]: probe \"api-health\": url"},
        BadCase{"LiteralSecret", "token: {env: PANEL_TOKEN}", "token: hunter2", "health_check.token: secrets must come from"},
        BadCase{"UnsetSecretEnv", "token: {env: PANEL_TOKEN}", "token: {env: NOT_SET_ANYWHERE}", "environment variable NOT_SET_ANYWHERE"},
        BadCase{"PercentOver100", "max_failed_hosts: 50%", "max_failed_hosts: 150%", "services[2].max_failed_hosts"},
        BadCase{"UnknownGuardHost", "host: panel", "host: nowhere", "guards[0].host: unknown host"},
        BadCase{"MissingTls", "insecure_plaintext: true", "insecure_plaintext: false", "tls: ca, cert and key are required"},
        BadCase{"PlaintextToRemoteAgent", "127.0.0.1:7702", "10.1.2.3:7702", "insecure_plaintext refuses the non-loopback agent address"},
        BadCase{"HostsAsList", "hosts:\n", "hosts:\n  - oops\n", "sls.yaml:"},
        BadCase{"ZeroSettleWindow", "lease_ms: 30000", "lease_ms: 30000\n  healthy_for_ms: 0", "sls.yaml:6: defaults.healthy_for_ms"},
        BadCase{"AvailabilityPollUnder20Ms", "token: {env: PANEL_TOKEN}",
                "token: {env: PANEL_TOKEN}\n  availability_interval_ms: 5", "health_check.availability_interval_ms: at least 20"},
        BadCase{"HugeServiceSettleWindow", "max_failed_hosts: 50%", "max_failed_hosts: 50%\n    healthy_for_ms: 900000", "services[2].healthy_for_ms: must be at most 600000"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(Config, UnitOnNoHostIsAnError) {
  auto c = Parse(Replace(kGood, "- name: sls-bot\n", "- name: sls-bot\n  - name: sls-ghost\n"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no host lists unit sls-ghost.service"), std::string::npos) << c.status();
}

TEST(Config, ARequestConfigMayNotReachForCredentialsFilesOrEnvironment) {
  const std::string base = R"(hosts:
  api: {agent: "10.0.0.1:7700", units: [sls-api.service]}
services:
  - name: sls-api
)";
  auto ok = ParseConfig(base, "req.yaml", {}, ConfigSource::kRequest);
  ASSERT_TRUE(ok.ok()) << ok.status() << " (TLS comes from the coordinator's own config)";
  for (const char* tail : {"health_check: {api_base: \"http://x:1\"}\n", "tls: {ca: /etc/shadow}\n",
                           "reports_dir: /etc\n", "insecure_plaintext: true\n"}) {
    auto c = ParseConfig(base + tail, "req.yaml", {}, ConfigSource::kRequest);
    ASSERT_FALSE(c.ok()) << tail;
    EXPECT_NE(c.status().message().find("not allowed in a config sent with a request"), std::string::npos)
        << c.status();
  }
  Config own;
  own.tls = {"ca.pem", "c.pem", "c.key"};
  own.health_check.enabled = true;
  own.health_check.token = "t0ken-value";
  own.reports_dir = "/var/log/failover";
  OverlayCoordinatorSettings(own, &*ok);
  EXPECT_EQ(ok->tls.ca_file, "ca.pem");
  EXPECT_EQ(ok->health_check.token, "t0ken-value");
  EXPECT_EQ(ok->reports_dir, "/var/log/failover");
}

TEST(Config, ARequestConfigMayNotUseEnvOrFileReferences) {
  auto c = ParseConfig(std::string(kGood).replace(std::string(kGood).find("insecure_plaintext: true\n"), 25, ""),
                       "req.yaml", {{"PANEL_TOKEN", "x"}}, ConfigSource::kRequest);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not allowed in a config sent with a request"), std::string::npos) << c.status();
}

std::string ErrorOf(const std::string& yaml) {
  auto c = Parse(yaml);
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(Config, RefusesASecondDefaultsSectionNamingBothLines) {
  EXPECT_EQ(ErrorOf(kGood + std::string("defaults:\n  mode: stop-all\n")),
            "sls.yaml:24: defaults: appears twice in one mapping (lines 1 and 24); keep one");
}

TEST(Config, RefusesARepeatedOrderNamingBothLines) {
  EXPECT_EQ(ErrorOf(kGood + std::string("order: [sls-api]\n")),
            "sls.yaml:24: order: appears twice in one mapping (lines 16 and 24); keep one");
}

TEST(Config, RefusesAKeyTwiceInOneMapNamingBothLines) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "  - name: sls-bot\n", "  - name: sls-bot\n    name: sls-api\n")),
            "sls.yaml:11: name: appears twice in one mapping (lines 10 and 11); keep one");
  EXPECT_NE(ErrorOf(Replace(kGood, "max_parallel: 2", "max_parallel: 2\n  max_parallel: 9")).find("(lines 3 and 4)"),
            std::string::npos);
}

TEST(Config, RefusesInvalidUtf8InANameAProbeNameOrACommentWithFileAndLine) {
  EXPECT_NE(ErrorOf(Replace(kGood, "- name: sls-bot", "- name: sls-b\xf6t")).find("sls.yaml:10: invalid UTF-8"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "name: api-health", "name: api-h\xc3")).find("sls.yaml:13: invalid UTF-8"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "hosts:\n", "hosts:  # h\xf4\xf4te\n")).find("sls.yaml:6: invalid UTF-8"),
            std::string::npos);
}

TEST(Config, RefusesServiceNamesAndUnitsTheAgentsWouldRefuse) {
  EXPECT_NE(ErrorOf(Replace(kGood, "  - name: sls-bot\n", "  - name: SLS Bot\n    unit: sls-bot.service\n"))
                .find("sls.yaml:10: services[0].name: service names may hold only letters"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "  - name: sls-bot\n", "  - name: sls-bot\n    unit: sls-bot@.service\n"))
                .find("sls.yaml:11: services[0].unit: unit name \"sls-bot@.service\" is a template"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "sls-api.service, sls-bot.service]", "sls-api.service, sls-bot@.service]"))
                .find("sls.yaml:7: hosts.api.units: unit name \"sls-bot@.service\" is a template"),
            std::string::npos);
}

TEST(Config, RefusesATenMegabyteValueAtParseTime) {
  const std::string error = ErrorOf(kGood + std::string("reports_dir: ") + std::string(10 << 20, 'x') + "\n");
  EXPECT_EQ(error.rfind("sls.yaml: the config is ", 0), 0u) << error.substr(0, 200);
  EXPECT_NE(error.find("the limit is 1048576 bytes (1 MiB)"), std::string::npos) << error.substr(0, 200);
  auto request = ParseConfig(std::string(2 << 20, '#'), "req.yaml", {}, ConfigSource::kRequest);
  ASSERT_FALSE(request.ok());
  EXPECT_NE(request.status().message().find("the limit is 1048576 bytes (1 MiB)"), std::string::npos);
}

TEST(Config, ParsingRecordsReferencesWithoutReadingThem) {
  auto c = ParseConfigText(Replace(kGood, "{env: PANEL_TOKEN}", "{file: /nonexistent/panel_token}"), "sls.yaml");
  ASSERT_TRUE(c.ok()) << c.status() << " (parsing must not read files or the environment)";
  EXPECT_TRUE(c->health_check.token.empty());
  EXPECT_TRUE(c->health_check.url.empty());
  ASSERT_TRUE(c->health_check.token_ref.has_value());
  EXPECT_EQ(c->health_check.token_ref->kind, ValueRef::Kind::kFile);
  EXPECT_EQ(c->health_check.token_ref->where, "sls.yaml:19: health_check.token");
  absl::Status s = ResolveConfigSecrets({}, &*c);
  EXPECT_EQ(s.message(), "sls.yaml:19: health_check.token: cannot read /nonexistent/panel_token");
}

TEST(Config, ResolveFillsTheHealthCheckUrlAndToken) {
  auto c = ParseConfigText(kGood, "sls.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(ResolveConfigSecrets({{"API_BASE", "http://10.0.0.9:8080/"}, {"PANEL_TOKEN", "tok-123456"}}, &*c).ok());
  EXPECT_EQ(c->health_check.url, "http://10.0.0.9:8080/health");
  EXPECT_EQ(c->health_check.token, "tok-123456");
}

TEST(Config, SyntaxErrorNamesTheLine) {
  auto c = Parse("hosts:\n  api: {agent: [\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sls.yaml:"), std::string::npos);
  EXPECT_NE(c.status().message().find("YAML syntax error"), std::string::npos);
}

TEST(Config, TheSettleWindowComesFromDefaultsAndEachServiceMayOverrideIt) {
  auto plain = Parse(kGood);
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->defaults.healthy_for_ms, 1000u) << "sensible default";
  auto c = Parse(Replace(Replace(kGood, "lease_ms: 30000", "lease_ms: 30000\n  healthy_for_ms: 2500"),
                         "max_failed_hosts: 50%", "max_failed_hosts: 50%\n    healthy_for_ms: 300"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->defaults.healthy_for_ms, 2500u);
  EXPECT_EQ(c->FindService("sls-panel")->healthy_for_ms.value_or(0), 300u);
  EXPECT_FALSE(c->FindService("sls-api")->healthy_for_ms.has_value());
}

TEST(Config, AHostWithMoreUnitsThanTheLimitIsRefusedNamingFileAndLine) {
  std::string units;
  for (int i = 0; i <= kMaxUnitsPerHost; ++i) units += absl::StrCat(i ? ", " : "", "u", i, ".service");
  auto c = Parse(Replace(kGood, "units: [sls-panel.service]", "units: [sls-panel.service, " + units + "]"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("sls.yaml:8: hosts.panel.units"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find(absl::StrCat("more than ", kMaxUnitsPerHost, " units")), std::string::npos)
      << c.status().message();
}

TEST(Config, AHostAtTheUnitLimitIsAccepted) {
  std::string units;
  for (int i = 1; i < kMaxUnitsPerHost; ++i) units += absl::StrCat(", u", i, ".service");
  auto c = Parse(Replace(kGood, "units: [sls-panel.service]", "units: [sls-panel.service" + units + "]"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->FindHost("panel")->units.size(), static_cast<size_t>(kMaxUnitsPerHost));
}

}  // namespace
}  // namespace failover::coordinator

namespace failover::coordinator {
namespace {

const char kSeedTail[] = R"(health_check:
  api_base: {env: API_BASE, default: "http://127.0.0.1:8080"}
  token: {env: PANEL_TOKEN}
  allowed_api_bases: ["https://api.staging.example.com/", "http://10.77.0."]
)";

std::string WithSeedKeys() {
  std::string s = kGood;
  s = s.substr(0, s.find("health_check:")) + kSeedTail + s.substr(s.find("guards:"));
  return Replace(s, "    max_failed_hosts: 50%\n", "    max_failed_hosts: 50%\n    min_healthy: 50%\n    min_healthy_wait_ms: 2500\n");
}

TEST(ConfigSeed, ParsesAllowedApiBasesAndTheAvailabilityBudget) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->health_check.allowed_api_bases.size(), 2u);
  EXPECT_TRUE(c->health_check.allowed_api_bases[1].ipv4_network);
  EXPECT_EQ(c->FindService("sls-panel")->min_healthy, 50u);
  EXPECT_TRUE(c->FindService("sls-panel")->min_healthy_percent);
  EXPECT_EQ(*c->FindService("sls-panel")->min_healthy_wait_ms, 2500u);
}

TEST(ConfigSeed, ABadAllowedPrefixOrBudgetNamesTheFieldAndLine) {
  auto bad_prefix = Parse(Replace(WithSeedKeys(), "\"http://10.77.0.\"", "\"http://user@10.77.0.1/\""));
  ASSERT_FALSE(bad_prefix.ok());
  EXPECT_NE(bad_prefix.status().message().find("health_check.allowed_api_bases[1]"), std::string::npos)
      << bad_prefix.status();
  auto bad_budget = Parse(Replace(WithSeedKeys(), "min_healthy: 50%", "min_healthy: 150%"));
  ASSERT_FALSE(bad_budget.ok());
  EXPECT_NE(bad_budget.status().message().find("min_healthy"), std::string::npos) << bad_budget.status();
}

TEST(ConfigSeed, ACallersApiBaseUnderAnAllowedPrefixReplacesTheUrlAndTheToken) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(ApplyCallerApiBase("http://10.77.0.1:9000", "caller-token-123", &*c).ok());
  EXPECT_EQ(c->health_check.url, "http://10.77.0.1:9000/health");
  EXPECT_EQ(c->health_check.token, "caller-token-123");
  EXPECT_EQ(HealthCheckProbe(c->health_check).http().bearer_secret(), kHealthCheckSecret);
}

TEST(ConfigSeed, TheCoordinatorsOwnTokenNeverGoesToACallersApiBase) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->health_check.token, "s3cr3t-token");
  ASSERT_TRUE(ApplyCallerApiBase("https://api.staging.example.com", "", &*c).ok());
  EXPECT_EQ(c->health_check.url, "https://api.staging.example.com:443/health");
  EXPECT_EQ(c->health_check.token, "") << "the coordinator's own token must not follow a caller's URL";
  EXPECT_EQ(HealthCheckProbe(c->health_check).http().bearer_secret(), "") << "no Authorization header at all";
}

TEST(ConfigSeed, ACallersApiBaseOutsideThePrefixesIsRefusedAndChangesNothing) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  absl::Status s = ApplyCallerApiBase("http://10.77.0.1.evil.example/", "t0ken-x", &*c);
  EXPECT_FALSE(s.ok());
  s = ApplyCallerApiBase("https://api.prod.example.com/", "t0ken-x", &*c);
  EXPECT_EQ(s.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(c->health_check.url, "http://127.0.0.1:8080/health");
  EXPECT_EQ(c->health_check.token, "s3cr3t-token");
}

TEST(ConfigSeed, ATokenWithoutAnApiBaseOrWithAHeaderBreakIsRefused) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(ApplyCallerApiBase("", "lonely-token", &*c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ApplyCallerApiBase("http://10.77.0.1/", "abc\r\nX-Evil: 1", &*c).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c->health_check.token, "s3cr3t-token");
}

TEST(ConfigSeed, TheCallersTokenIsRedactedOnceAccepted) {
  auto c = Parse(WithSeedKeys());
  ASSERT_TRUE(c.ok()) << c.status();
  const std::string token = "caller-secret-7f3a9";
  ASSERT_TRUE(ApplyCallerApiBase("http://10.77.0.1/", token, &*c).ok());
  const std::string text = Redact("GET http://10.77.0.1/health with Bearer " + token + " failed");
  EXPECT_EQ(text.find(token), std::string::npos) << text;
  EXPECT_NE(text.find("[REDACTED]"), std::string::npos) << text;
}

const char kGateBase[] = R"(hosts:
  api: {agent: "127.0.0.1:7700", units: [sls-api.service]}
services:
  - name: sls-api
)";

TEST(ConfigGates, ParsesGatesStopConditionsAndTheirDefaults) {
  const std::string yaml = std::string("defaults: {require_healthy: true, stop_condition_interval_ms: 250}\n") +
                           kGateBase + R"(gates:
  - name: api-up
    on: coordinator
    probe: {http: {url: "http://127.0.0.1:8080/health"}, timeout_ms: 300}
  - name: api-port
    on: api
    probe: {name: port, tcp: {host: 127.0.0.1, port: 8080}}
stop_conditions:
  - {name: worker-ok, on: api, probe: {unit: {unit: sls-api.service}}}
insecure_plaintext: true
)";
  auto c = ParseConfig(yaml, "sls.yaml", {});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->gates.size(), 2u);
  EXPECT_EQ(c->gates[0].on, kGateOnCoordinator);
  EXPECT_EQ(c->gates[0].probe.name(), "api-up") << "the probe's name defaults to the gate's";
  EXPECT_EQ(c->gates[0].probe.timeout_ms(), 300u);
  EXPECT_EQ(c->gates[1].on, "api");
  EXPECT_EQ(c->gates[1].probe.name(), "port");
  ASSERT_EQ(c->stop_conditions.size(), 1u);
  EXPECT_EQ(c->stop_conditions[0].probe.unit().unit(), "sls-api.service");
  EXPECT_TRUE(c->defaults.require_healthy);
  EXPECT_EQ(c->defaults.stop_condition_interval_ms, 250u);
}

TEST(ConfigGates, ErrorsNameTheFileLineAndField) {
  struct Case {
    std::string tail, want;
  } cases[] = {
      {"gates:\n  - {name: g, on: nowhere, probe: {tcp: {host: h, port: 1}}}\n", "sls.yaml:6: gates[0].on: unknown host"},
      {"gates:\n  - {name: g, probe: {tcp: {host: h, port: 1}}}\n", "gates[0].on: missing"},
      {"gates:\n  - {name: g, on: api}\n", "gates[0].probe: missing"},
      {"gates:\n  - {name: g, on: api, probe: {tcp: {host: h}}}\n", "gates[0].probe.tcp: needs host and port"},
      {"gates:\n  - {name: g, on: coordinator, probe: {unit: {unit: a.service}}}\n", "use on: HOST"},
      {"stop_conditions:\n  - {name: s, on: api, probe: {tcp: {host: h, port: 1}}}\n  - {name: s, on: api, probe: "
       "{tcp: {host: h, port: 2}}}\n",
       "stop_conditions[1].name: duplicate name \"s\""},
      {"gates: {name: g}\n", "gates: must be a list"},
  };
  for (const auto& c : cases) {
    auto cfg = ParseConfig(std::string(kGateBase) + c.tail + "insecure_plaintext: true\n", "sls.yaml", {});
    ASSERT_FALSE(cfg.ok()) << c.tail;
    EXPECT_NE(cfg.status().message().find(c.want), std::string::npos) << cfg.status();
  }
  auto bad = ParseConfig(std::string("defaults: {stop_condition_interval_ms: 10}\n") + kGateBase +
                             "insecure_plaintext: true\n",
                         "sls.yaml", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("sls.yaml:1: defaults.stop_condition_interval_ms: must be at least 100"),
            std::string::npos)
      << bad.status();
}

TEST(ConfigGates, ARequestConfigMayRunGatesOnlyOnItsHosts) {
  for (const char* key : {"gates", "stop_conditions"}) {
    const std::string tail = std::string(key) +
                             ":\n  - {name: peek, on: coordinator, probe: {http: {url: \"http://169.254.169.254/\"}}}\n";
    auto c = ParseConfig(kGateBase + tail, "req.yaml", {}, ConfigSource::kRequest);
    ASSERT_FALSE(c.ok()) << key;
    EXPECT_NE(c.status().message().find(absl::StrCat("req.yaml:6: ", key, "[0].on: a config sent with a request may "
                                                     "run gates only on its hosts")),
              std::string::npos)
        << c.status();
  }
  auto ok = ParseConfig(std::string(kGateBase) + "gates:\n  - {name: port, on: api, probe: {tcp: {host: h, port: 1}}}\n",
                        "req.yaml", {}, ConfigSource::kRequest);
  ASSERT_TRUE(ok.ok()) << ok.status();
  // The coordinator's own coordinator-side gates still apply to a request's run; its host gates do not.
  Config own;
  own.gates = {{"api-up", kGateOnCoordinator, {}}, {"own-host-gate", "api", {}}};
  own.stop_conditions = {{"alert", kGateOnCoordinator, {}}};
  OverlayCoordinatorSettings(own, &*ok);
  ASSERT_EQ(ok->gates.size(), 2u);
  EXPECT_EQ(ok->gates[0].name, "port");
  EXPECT_EQ(ok->gates[1].name, "api-up");
  ASSERT_EQ(ok->stop_conditions.size(), 1u);
  EXPECT_EQ(ok->stop_conditions[0].name, "alert");
}

}  // namespace
}  // namespace failover::coordinator
