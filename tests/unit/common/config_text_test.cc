#include "failover/config_text.h"

#include <string>

#include "gtest/gtest.h"

namespace failover {
namespace {

TEST(ConfigText, AcceptsUtf8NamesAndComments) {
  EXPECT_TRUE(CheckConfigText("# Grüße, Müller — ✓ 🚀\nhost: api\n", "a.yaml").ok());
  EXPECT_EQ(FirstInvalidUtf8("plain ascii"), std::string_view::npos);
}

TEST(ConfigText, RefusesInvalidUtf8NamingFileLineColumnAndByte) {
  absl::Status s = CheckConfigText("host: api\n# comment \xff here\n", "agent.yaml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("agent.yaml:2: invalid UTF-8 (byte 0xff at column 11)"), std::string::npos) << s;
}

TEST(ConfigText, RefusesOverlongSurrogateTruncatedAndTooLargeSequences) {
  EXPECT_EQ(FirstInvalidUtf8("ab\xc0\xafz"), 2u) << "overlong '/'";
  EXPECT_EQ(FirstInvalidUtf8("a\xed\xa0\x80"), 1u) << "UTF-16 surrogate";
  EXPECT_EQ(FirstInvalidUtf8("abc\xe2\x82"), 3u) << "truncated at the end";
  EXPECT_EQ(FirstInvalidUtf8("\xf4\x90\x80\x80"), 0u) << "past U+10FFFF";
  EXPECT_EQ(FirstInvalidUtf8("\xe2\x82\xac\xf0\x9f\x9a\x80"), std::string_view::npos) << "euro sign, rocket";
}

TEST(ConfigText, RefusesTextOverTheBoundNamingTheLimit) {
  EXPECT_TRUE(CheckConfigText(std::string(kMaxConfigBytes, 'a'), "c.yaml").ok());
  absl::Status s = CheckConfigText(std::string(kMaxConfigBytes + 1, 'a'), "c.yaml");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("c.yaml: the config is 1048577 bytes; the limit is 1048576 bytes"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace failover
