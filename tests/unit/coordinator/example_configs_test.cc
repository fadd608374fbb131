// The example configs shipped in deploy/ (and in the .deb's examples) parse as they are: an
// operator who copies one starts from a config the coordinator accepts.
#include <fstream>
#include <sstream>

#include "coordinator/config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

std::string ReadDeployFile(const std::string& name) {
  std::ifstream in(std::string(FO_DEPLOY_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(ExampleConfigs, TheProductionExampleParsesWithTheSeedsOrder) {
  const std::string text = ReadDeployFile("sls.example.yaml");
  ASSERT_FALSE(text.empty());
  auto config = ParseConfigText(text, "deploy/sls.example.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->default_order, (std::vector<std::string>{"sls-bot", "sls-cerebro", "sls-api"}));
  EXPECT_TRUE(config->health_check.enabled);
}

TEST(ExampleConfigs, TheStagingExampleTargetsStagingHostsAndTheStagingApi) {
  auto config = ParseConfigText(ReadDeployFile("sls-staging.example.yaml"), "deploy/sls-staging.example.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  for (const HostConfig& h : config->hosts) EXPECT_NE(h.agent.find(".staging."), std::string::npos) << h.agent;
  EXPECT_EQ(config->health_check.api_base.kind, ValueRef::Kind::kLiteral);
  EXPECT_EQ(config->health_check.api_base.text, "https://api.staging.example.com");
  EXPECT_EQ(config->default_order.size(), 4u) << "the sweep runs the full failover, sls-panel included";
}

}  // namespace
}  // namespace failover::coordinator
