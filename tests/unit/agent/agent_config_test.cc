#include "agent/agent_config.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "failover/logging.h"
#include "failover/probe_spec.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

const char kGood[] = R"(host: api
listen: 127.0.0.1:7700
allow_units: ["sls-*.service", "sls-monitor.timer"]
secrets:
  panel_token: {env: AGENT_CONFIG_TEST_TOKEN, urls: ["http://127.0.0.1:8080/"]}
  file_token: {file: /nonexistent/agent-config-test-token}
tls: {ca: ca.pem, cert: api.pem, key: api.key}
allowed_clients: [coordinator]
audit_log: /tmp/audit.log
state_dir: /run/failover-agent
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  auto pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

std::string ErrorOf(const std::string& yaml) {
  auto c = ParseAgentConfigText(yaml, "agent.yaml");
  EXPECT_FALSE(c.ok()) << yaml;
  return c.ok() ? "" : std::string(c.status().message());
}

TEST(AgentConfig, ParsesHostListenAllowlistSecretReferencesAndTls) {
  auto c = ParseAgentConfigText(kGood, "agent.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->host, "api");
  EXPECT_EQ(c->listen, "127.0.0.1:7700");
  EXPECT_TRUE(c->allowlist.Allows("sls-api.service"));
  EXPECT_FALSE(c->allowlist.Allows("ssh.service"));
  EXPECT_EQ(c->tls.key_file, "api.key");
  EXPECT_EQ(c->allowed_clients, std::vector<std::string>{"coordinator"});
  EXPECT_EQ(c->secret_urls["panel_token"], std::vector<std::string>{"http://127.0.0.1:8080/"});
  EXPECT_EQ(c->secret_urls["file_token"], DefaultSecretUrls());
}

TEST(AgentConfig, ParsingRecordsSecretReferencesWithoutReadingThem) {
  // Neither the variable nor the file exists: parsing is pure, so it still succeeds.
  auto c = ParseAgentConfigText(kGood, "agent.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->secrets.empty());
  EXPECT_EQ(c->secret_refs["panel_token"].kind, ValueRef::Kind::kEnv);
  EXPECT_EQ(c->secret_refs["panel_token"].text, "AGENT_CONFIG_TEST_TOKEN");
  EXPECT_EQ(c->secret_refs["file_token"].where, "agent.yaml:6: secrets.file_token");
}

TEST(AgentConfig, ResolveReadsSecretsAndRegistersThemForRedaction) {
  const std::string file = (std::filesystem::temp_directory_path() / "agent_config_test_token").string();
  std::ofstream(file) << "file-s3cret-value\n";
  auto c = ParseAgentConfigText(Replace(kGood, "/nonexistent/agent-config-test-token", file), "agent.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(ResolveAgentSecrets({{"AGENT_CONFIG_TEST_TOKEN", "env-s3cret-value"}}, &*c).ok());
  EXPECT_EQ(c->secrets["panel_token"], "env-s3cret-value");
  EXPECT_EQ(c->secrets["file_token"], "file-s3cret-value");
  EXPECT_EQ(Redact("token env-s3cret-value and file-s3cret-value"), "token [REDACTED] and [REDACTED]");
}

TEST(AgentConfig, ResolveNamesFileLineAndFieldOfAnUnsetVariable) {
  auto c = ParseAgentConfigText(kGood, "agent.yaml");
  ASSERT_TRUE(c.ok());
  absl::Status s = ResolveAgentSecrets({}, &*c);
  EXPECT_NE(s.message().find("agent.yaml:6: secrets.file_token: cannot read /nonexistent/agent-config-test-token"),
            std::string::npos)
      << s;
  ::unsetenv("AGENT_CONFIG_TEST_TOKEN");
  auto p = ParseAgentConfig(Replace(kGood, "  file_token: {file: /nonexistent/agent-config-test-token}\n", ""),
                            "agent.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "agent.yaml:5: secrets.panel_token: environment variable AGENT_CONFIG_TEST_TOKEN is not set");
}

TEST(AgentConfig, ErrorsReadFileLineFieldWhat) {
  EXPECT_EQ(ErrorOf(Replace(kGood, "host: api\n", "")), "agent.yaml:1: host: missing (the host's name)");
  EXPECT_NE(ErrorOf(Replace(kGood, "state_dir:", "colour: red\nstate_dir:")).find("agent.yaml:10: colour: unknown field"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(Replace(kGood, "allow_units: [\"sls-*.service\", \"sls-monitor.timer\"]", "allow_units: sls")),
            "agent.yaml:3: allow_units: must be a list");
  EXPECT_NE(ErrorOf(Replace(kGood, "{env: AGENT_CONFIG_TEST_TOKEN, urls", "{env: X, colour: red, urls"))
                .find("agent.yaml:5: secrets.panel_token.colour: unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Replace(kGood, "http://127.0.0.1:8080/\"]", "127.0.0.1\"]"))
                .find("agent.yaml:5: secrets.panel_token.urls: \"127.0.0.1\" must be scheme://"),
            std::string::npos);
  EXPECT_EQ(ErrorOf(Replace(kGood, "tls: {ca: ca.pem,", "tls: {ca: ca.pem, crt: x,")),
            "agent.yaml:7: tls.crt: unknown field (known: ca, cert, key)");
  EXPECT_EQ(ErrorOf(kGood + std::string("insecure_plaintext: sometimes\n")),
            "agent.yaml:11: insecure_plaintext: must be true or false");
}

TEST(AgentConfig, RefusesDuplicateKeysNamingBothLines) {
  EXPECT_EQ(ErrorOf(kGood + std::string("host: panel\n")),
            "agent.yaml:11: host: appears twice in one mapping (lines 1 and 11); keep one");
  EXPECT_NE(ErrorOf(Replace(kGood, "ca: ca.pem,", "ca: ca.pem, ca: evil.pem,")).find("(lines 7 and 7)"),
            std::string::npos);
}

TEST(AgentConfig, RefusesInvalidUtf8WithFileAndLine) {
  EXPECT_NE(ErrorOf(Replace(kGood, "host: api", "host: ap\xe9")).find("agent.yaml:1: invalid UTF-8"), std::string::npos);
  EXPECT_NE(ErrorOf(kGood + std::string("# caf\xe9\n")).find("agent.yaml:11: invalid UTF-8"), std::string::npos);
}

TEST(AgentConfig, RefusesAnOversizedConfigNamingTheLimit) {
  const std::string big = kGood + std::string("audit_log: ") + std::string(10 << 20, 'a') + "\n";
  EXPECT_NE(ErrorOf(big).find("the limit is 1048576 bytes"), std::string::npos);
}

TEST(AgentConfig, RefusesTemplateUnitsInProbesTheAgentIsAskedToRun) {
  auto c = ParseAgentConfigText(kGood, "agent.yaml");
  ASSERT_TRUE(c.ok());
  v1::ProbeSpec p;
  p.set_name("bot");
  p.set_timeout_ms(100);
  p.mutable_unit()->set_unit("sls-bot@.service");
  EXPECT_EQ(ValidateProbeSpec(p, c->allowlist).code(), absl::StatusCode::kInvalidArgument);
}


TEST(AgentConfig, ParsesResticRepositoriesByName) {
  auto c = ParseAgentConfigText(std::string(kGood) + "restic_repositories:\n  backups: {repository: /srv/restic, password_file: /etc/restic/pw}\n",
                                "agent.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->restic_repositories.count("backups"), 1u);
  EXPECT_EQ(c->restic_repositories["backups"].repository, "/srv/restic");
  EXPECT_EQ(c->restic_repositories["backups"].password_file, "/etc/restic/pw");
}

TEST(AgentConfig, RefusesAResticRepositoryWithoutAnAbsolutePasswordFile) {
  EXPECT_NE(ErrorOf(std::string(kGood) + "restic_repositories:\n  backups: {repository: /srv/restic}\n")
                .find("restic_repositories.backups.password_file: missing"),
            std::string::npos);
  EXPECT_NE(ErrorOf(std::string(kGood) + "restic_repositories:\n  backups: {repository: /srv/r, password_file: pw}\n")
                .find("must be an absolute path"),
            std::string::npos);
}

TEST(AgentConfig, AResticProbeNamingAnUnknownRepositoryIsRefused) {
  auto c = ParseAgentConfigText(std::string(kGood) + "restic_repositories:\n  backups: {repository: /srv/restic, password_file: /pw}\n",
                                "agent.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  v1::ProbeSpec p;
  p.set_name("backup");
  p.mutable_restic()->set_repository("backups");
  EXPECT_TRUE(CheckSecretUse(*c, p).ok());
  p.mutable_restic()->set_repository("other");
  absl::Status s = CheckSecretUse(*c, p);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "probe \"backup\": restic repository \"other\" is not defined in this agent's config "
                         "(restic_repositories)");
}

}  // namespace
}  // namespace failover::agent
