#include "coordinator/config_holder.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

const char kConfig[] = R"(defaults:
  max_parallel: 1
hosts:
  api: {agent: "127.0.0.1:7701", units: [sls-api.service, sls-bot.service]}
services:
  - name: sls-bot
  - name: sls-api
order: [sls-bot, sls-api]
insecure_plaintext: true
)";

class ConfigHolderTest : public ::testing::Test {
 protected:
  ConfigHolderTest()
      : path_((std::filesystem::temp_directory_path() / ("config_holder_test-" + std::to_string(getpid()) + ".yaml"))
                  .string()) {
    Write(kConfig);
  }
  ~ConfigHolderTest() override { std::filesystem::remove(path_); }
  void Write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::string path_;
};

TEST_F(ConfigHolderTest, ParsesTheFileOnceAndKeepsIt) {
  auto holder = ConfigHolder::Load(path_);
  ASSERT_TRUE(holder.ok()) << holder.status();
  Write("garbage: [");
  EXPECT_EQ((*holder)->Get()->default_order, (std::vector<std::string>{"sls-bot", "sls-api"}))
      << "the file is not read again without a reload";
}

TEST_F(ConfigHolderTest, RefusesABrokenFileNamingFileAndLine) {
  std::string text = kConfig;
  text.replace(text.find("max_parallel: 1"), 15, "max_parallel: -3");
  Write(text);
  auto holder = ConfigHolder::Load(path_);
  ASSERT_FALSE(holder.ok());
  EXPECT_NE(holder.status().message().find(path_ + ":2: defaults.max_parallel"), std::string::npos)
      << holder.status();
}

TEST_F(ConfigHolderTest, RefusesAMissingFileNamingIt) {
  auto holder = ConfigHolder::Load(path_ + ".missing");
  ASSERT_FALSE(holder.ok());
  EXPECT_NE(holder.status().message().find(path_ + ".missing: cannot read the config"), std::string::npos)
      << holder.status();
}

TEST_F(ConfigHolderTest, AReloadReplacesTheConfigWhenTheNewFileParses) {
  auto holder = ConfigHolder::Load(path_);
  ASSERT_TRUE(holder.ok()) << holder.status();
  std::shared_ptr<const Config> before = (*holder)->Get();
  std::string text = kConfig;
  text.replace(text.find("order: [sls-bot, sls-api]"), 25, "order: [sls-api]");
  Write(text);
  ASSERT_TRUE((*holder)->Reload().ok());
  EXPECT_EQ((*holder)->Get()->default_order, std::vector<std::string>{"sls-api"});
  EXPECT_EQ(before->default_order, (std::vector<std::string>{"sls-bot", "sls-api"}))
      << "a request that took the old config keeps it";
}

TEST_F(ConfigHolderTest, ABadReloadKeepsTheOldConfigAndNamesFileAndLine) {
  auto holder = ConfigHolder::Load(path_);
  ASSERT_TRUE(holder.ok()) << holder.status();
  std::string text = kConfig;
  text.replace(text.find("max_parallel: 1"), 15, "max_parallel: -3");
  Write(text);
  absl::Status s = (*holder)->Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(path_ + ":2: defaults.max_parallel"), std::string::npos) << s;
  EXPECT_EQ((*holder)->Get()->defaults.max_parallel, 1u);
  EXPECT_EQ((*holder)->Get()->default_order, (std::vector<std::string>{"sls-bot", "sls-api"}));
}

}  // namespace
}  // namespace failover::coordinator
