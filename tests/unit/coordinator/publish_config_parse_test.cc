// publish: in the coordinator's config (publish_config_parse.cc).
#include "coordinator/publish_config_parse.h"

#include "coordinator/config.h"
#include "failover/logging.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

const char kBase[] = R"(insecure_plaintext: true
hosts:
  api: {agent: "127.0.0.1:7700", units: [sls-api.service]}
services:
  - name: sls-api
order: [sls-api]
)";

absl::StatusOr<Config> Parse(const std::string& extra, ConfigSource source = ConfigSource::kCoordinator,
                             std::map<std::string, std::string> env = {}) {
  return ParseConfig(std::string(kBase) + extra, "sls.yaml", env, source);
}

TEST(PublishConfig, EachKindParsesWithItsFieldsAndTheTokenIsReadAndRedacted) {
  auto c = Parse(
      "publish:\n"
      "  - {name: wiki, kind: confluence, url: \"https://wiki.example.com/\", space_key: OPS, ancestor_id: \"42\", "
      "token: {env: CONF_TOKEN}, title: \"Failover {run_id}\", attempts: 3}\n"
      "  - {name: notes, kind: notion, url: \"https://api.notion.com\", parent_page_id: abc, token: {env: NOTION}}\n"
      "  - {name: hook, kind: webhook, url: \"http://127.0.0.1:9/x\", retry_ms: 50}\n",
      ConfigSource::kCoordinator, {{"CONF_TOKEN", "conf-secret-123"}, {"NOTION", "secret_notion_456"}});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->publish.size(), 3u);
  const PublishDestination& w = c->publish[0];
  EXPECT_EQ(w.kind, PublishKind::kConfluence);
  EXPECT_EQ(w.space_key, "OPS");
  EXPECT_EQ(w.ancestor_id, "42");
  EXPECT_EQ(w.token, "conf-secret-123");
  EXPECT_EQ(w.title_template, "Failover {run_id}");
  EXPECT_EQ(w.attempts, 3u);
  EXPECT_EQ(c->publish[1].kind, PublishKind::kNotion);
  EXPECT_EQ(c->publish[1].parent_page_id, "abc");
  EXPECT_EQ(c->publish[2].kind, PublishKind::kWebhook);
  EXPECT_EQ(c->publish[2].retry_ms, 50u);
  EXPECT_EQ(Redact("token conf-secret-123 and secret_notion_456"), "token [REDACTED] and [REDACTED]");
}

TEST(PublishConfig, BadDestinationsNameFileLineAndField) {
  struct Case { const char* yaml; const char* want; };
  for (const Case& k : std::vector<Case>{
           {"publish:\n  - {name: a, kind: sharepoint, url: \"https://x\"}\n", "sls.yaml:8: publish[0].kind"},
           {"publish:\n  - {name: a, kind: sharepoint, url: \"https://x\"}\n", "confluence, notion, webhook"},
           {"publish:\n  - {name: a, kind: confluence, url: \"https://x\", token: {env: T}}\n", "publish[0].space_key"},
           {"publish:\n  - {name: a, kind: notion, url: \"https://x\", token: {env: T}}\n", "publish[0].parent_page_id"},
           {"publish:\n  - {name: a, kind: notion, url: \"https://x\", parent_page_id: p}\n", "publish[0].token"},
           {"publish:\n  - {name: a, kind: webhook, url: \"ftp://x\"}\n", "publish[0].url: not an http(s) URL"},
           {"publish:\n  - {name: a, kind: webhook}\n", "publish[0].url"},
           {"publish:\n  - {name: a, kind: webhook, url: \"https://x\", space_key: OPS}\n", "only for kind: confluence"},
           {"publish:\n  - {name: a, kind: webhook, url: \"https://x\", colour: red}\n", "colour"},
           {"publish:\n  - {name: a, kind: webhook, url: \"https://x\", token: plain}\n", "publish[0].token"},
           {"publish:\n  - {name: a, kind: webhook, url: \"https://x\"}\n  - {name: a, kind: webhook, url: \"https://y\"}\n",
            "publish[1].name: \"a\" is declared twice"},
           {"publish: {name: a}\n", "publish: must be a list"}}) {
    auto c = Parse(k.yaml, ConfigSource::kCoordinator, {{"T", "t"}});
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_NE(std::string(c.status().message()).find(k.want), std::string::npos) << k.yaml << " -> " << c.status();
  }
}

TEST(PublishConfig, AConfigSentWithARequestMayNotDeclareDestinations) {
  const std::string request = std::string(kBase).substr(std::string(kBase).find("hosts:"));
  auto c = ParseConfig(request + "publish:\n  - {name: a, kind: webhook, url: \"https://evil.example.com\"}\n",
                       "req.yaml", {}, ConfigSource::kRequest);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("req.yaml:7: publish: not allowed in a config sent with a request"),
            std::string::npos)
      << c.status();
}

TEST(PublishConfig, AnUnsetTokenVariableIsAnErrorNamingTheField) {
  auto c = Parse("publish:\n  - {name: n, kind: notion, url: \"https://api.notion.com\", parent_page_id: p, "
                 "token: {env: NOT_SET_ANYWHERE}}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(std::string(c.status().message()).find("publish[0].token"), std::string::npos) << c.status();
}

}  // namespace
}  // namespace failover::coordinator
