#include "failover/secret_ref.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

namespace failover {
namespace {

ValueRef Ref(ValueRef::Kind kind, std::string text) {
  ValueRef r;
  r.kind = kind;
  r.text = std::move(text);
  r.where = "c.yaml:7: health_check.token";
  return r;
}

std::string TempFile(const std::string& name, const std::string& content) {
  const std::string path = (std::filesystem::temp_directory_path() / ("secret_ref_test_" + name)).string();
  std::ofstream(path) << content;
  return path;
}

TEST(SecretRef, ReturnsALiteralAsWritten) {
  auto v = ResolveValueRef(Ref(ValueRef::Kind::kLiteral, "http://127.0.0.1:8080"), {});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "http://127.0.0.1:8080");
}

TEST(SecretRef, ReadsTheVariableAndFallsBackOnlyWhenItIsUnsetOrEmpty) {
  ValueRef r = Ref(ValueRef::Kind::kEnv, "API_BASE");
  r.fallback = "http://fallback:1";
  EXPECT_EQ(*ResolveValueRef(r, {{"API_BASE", "http://set:2"}}), "http://set:2");
  EXPECT_EQ(*ResolveValueRef(r, {{"API_BASE", ""}}), "http://fallback:1");
  EXPECT_EQ(*ResolveValueRef(r, {}), "http://fallback:1");
}

TEST(SecretRef, AnUnsetVariableWithoutFallbackNamesFileLineFieldAndVariable) {
  auto v = ResolveValueRef(Ref(ValueRef::Kind::kEnv, "PANEL_TOKEN"), {{"OTHER", "x"}});
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "c.yaml:7: health_check.token: environment variable PANEL_TOKEN is not set");
}

TEST(SecretRef, ReadsAFileTrimmingSurroundingWhitespace) {
  auto v = ResolveValueRef(Ref(ValueRef::Kind::kFile, TempFile("ok", "  t0ken-value \n")), {});
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, "t0ken-value");
}

TEST(SecretRef, AMissingOrEmptyFileIsAnErrorNamingIt) {
  auto missing = ResolveValueRef(Ref(ValueRef::Kind::kFile, "/nonexistent/secret"), {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "c.yaml:7: health_check.token: cannot read /nonexistent/secret");
  const std::string empty = TempFile("empty", " \n");
  auto e = ResolveValueRef(Ref(ValueRef::Kind::kFile, empty), {});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().message(), "c.yaml:7: health_check.token: " + empty + " is empty");
}

TEST(SecretRef, ProcessEnvironmentHoldsTheProcessVariables) {
  ::setenv("SECRET_REF_TEST_VAR", "a=b", 1);
  EXPECT_EQ(ProcessEnvironment()["SECRET_REF_TEST_VAR"], "a=b");
}

}  // namespace
}  // namespace failover
