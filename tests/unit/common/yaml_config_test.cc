#include "failover/yaml_config.h"

#include "gtest/gtest.h"

namespace failover {
namespace {

std::string Message(const absl::Status& s) { return std::string(s.message()); }

TEST(YamlConfig, RefusesAKeyTwiceInOneMappingNamingBothLines) {
  auto root = LoadConfigYaml("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n", "c.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_EQ(Message(root.status()), "c.yaml:5: x: appears twice in one mapping (lines 3 and 5); keep one");
}

TEST(YamlConfig, RefusesDuplicateKeysInsideListsAndFlowMappings) {
  auto root = LoadConfigYaml("services:\n  - {name: a, name: b}\n", "c.yaml");
  ASSERT_FALSE(root.ok());
  EXPECT_NE(Message(root.status()).find("c.yaml:2: name: appears twice"), std::string::npos) << root.status();
}

TEST(YamlConfig, AcceptsTheSameKeyInDifferentMappings) {
  auto root = LoadConfigYaml("a: {name: x}\nb: {name: x}\n", "c.yaml");
  EXPECT_TRUE(root.ok()) << root.status();
}

TEST(YamlConfig, SyntaxAndUtf8ErrorsNameFileAndLine) {
  auto syntax = LoadConfigYaml("a: [\n", "c.yaml");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(Message(syntax.status()).find("YAML syntax error"), std::string::npos);
  auto utf8 = LoadConfigYaml("a: 1\nb: \"\xc3\x28\"\n", "c.yaml");
  ASSERT_FALSE(utf8.ok());
  EXPECT_NE(Message(utf8.status()).find("c.yaml:2: invalid UTF-8"), std::string::npos) << utf8.status();
}

TEST(YamlConfig, FieldErrorsReadFileLineFieldWhat) {
  auto root = LoadConfigYaml("n: abc\nm: {x: 1}\nb: maybe\nl: [a, '']\n", "c.yaml");
  ASSERT_TRUE(root.ok());
  YamlFields f("c.yaml");
  EXPECT_EQ(Message(f.Count((*root)["n"], "n", 1, 9).status()), "c.yaml:1: n: must be a whole number, got \"abc\"");
  EXPECT_EQ(Message(f.Ms((*root)["n"], "n", 10).status()),
            "c.yaml:1: n: must be a whole number of milliseconds, got \"abc\"");
  EXPECT_EQ(Message(f.CheckKeys((*root)["m"], "m", {"y"})), "c.yaml:2: m.x: unknown field (known: y)");
  EXPECT_EQ(Message(f.Bool((*root)["b"], "b").status()), "c.yaml:3: b: must be true or false");
  EXPECT_EQ(Message(f.StringList((*root)["l"], "l").status()), "c.yaml:4: l: must be a non-empty string");
}

TEST(YamlConfig, RefRecordsEnvOrFileWithoutReadingIt) {
  auto root = LoadConfigYaml("a: {env: NOT_SET_ANYWHERE, default: d}\nb: {file: /nonexistent}\nc: lit\n", "c.yaml");
  ASSERT_TRUE(root.ok());
  YamlFields f("c.yaml");
  auto a = f.Ref((*root)["a"], "a", false);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, ValueRef::Kind::kEnv);
  EXPECT_EQ(a->text, "NOT_SET_ANYWHERE");
  EXPECT_EQ(a->fallback.value_or(""), "d");
  EXPECT_EQ(a->where, "c.yaml:1: a");
  auto b = f.Ref((*root)["b"], "b", true);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->kind, ValueRef::Kind::kFile);
  EXPECT_EQ(f.Ref((*root)["c"], "c", false)->text, "lit");
}

TEST(YamlConfig, RefRefusesLiteralSecretsAndReferencesWhereNotAllowed) {
  auto root = LoadConfigYaml("a: hunter2\nb: {env: X}\n", "c.yaml");
  ASSERT_TRUE(root.ok());
  YamlFields f("c.yaml");
  EXPECT_NE(Message(f.Ref((*root)["a"], "a", true).status()).find("c.yaml:1: a: secrets must come from"),
            std::string::npos);
  f.set_refs_allowed(false, "not here");
  EXPECT_EQ(Message(f.Ref((*root)["b"], "b", false).status()), "c.yaml:2: b: not here");
}

}  // namespace
}  // namespace failover
