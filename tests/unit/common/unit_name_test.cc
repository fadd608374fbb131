#include "failover/unit_name.h"

#include "gtest/gtest.h"

namespace failover {
namespace {

TEST(UnitName, AcceptsOrdinaryAndTemplatedUnits) {
  EXPECT_TRUE(ValidateUnitName("sls-api.service").ok());
  EXPECT_TRUE(ValidateUnitName("sls-monitor.timer").ok());
  EXPECT_TRUE(ValidateUnitName("getty@tty1.service").ok());
  EXPECT_TRUE(ValidateUnitName("a\\x2db.mount").ok());
}

TEST(UnitName, RefusesPathsShellSyntaxAndMissingSuffix) {
  for (const char* bad : {"", "sls-api", "../etc/passwd.service", "/bin/sh.service", "a b.service",
                          "x;rm -rf /.service", "$(id).service", "sls.api.exe", "@x.service", "sls\n.service"}) {
    absl::Status s = ValidateUnitName(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(UnitName, RefusesNamesLongerThanSystemdAllows) {
  std::string name(250, 'a');
  name += ".service";
  EXPECT_EQ(ValidateUnitName(name).code(), absl::StatusCode::kInvalidArgument);
}

TEST(UnitAllowlist, DeniesByDefaultAndMatchesGlobs) {
  auto empty = UnitAllowlist::Create({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Check("sls-api.service").code(), absl::StatusCode::kPermissionDenied);
  auto list = UnitAllowlist::Create({"sls-*.service", "sls-monitor.timer"});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Check("sls-api.service").ok());
  EXPECT_TRUE(list->Check("sls-monitor.timer").ok());
  EXPECT_EQ(list->Check("sshd.service").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(list->Check("sls-other.timer").code(), absl::StatusCode::kPermissionDenied);
  // Validation comes before the allowlist: a glob-shaped request is not a unit name.
  EXPECT_EQ(list->Check("sls-*.service").code(), absl::StatusCode::kInvalidArgument);
}

TEST(UnitAllowlist, RefusesPatternsThatCannotBeUnitNames) {
  EXPECT_FALSE(UnitAllowlist::Create({"/etc/*"}).ok());
  EXPECT_FALSE(UnitAllowlist::Create({"sls api.service"}).ok());
}

}  // namespace
}  // namespace failover

namespace failover {
namespace {

TEST(UnitName, RefusesATemplateWithoutAnInstance) {
  absl::Status s = ValidateUnitName("sls-bot@.service");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("is a template without an instance"), std::string::npos) << s;
  EXPECT_TRUE(ValidateUnitName("sls-bot@1.service").ok());
  auto list = UnitAllowlist::Create({"sls-*.service"});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->Check("sls-bot@.service").code(), absl::StatusCode::kInvalidArgument) << "the agent refuses it too";
}

}  // namespace
}  // namespace failover
