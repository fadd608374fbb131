// Daemon log lines carry UTC time with a Z, like the reports; secrets never reach them.
#include "failover/logging.h"

#include <cstdlib>
#include <ctime>
#include <regex>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace failover {
namespace {

TEST(Logging, DaemonLinesCarryUtcTimeWithAZ) {
  unsetenv("JOURNAL_STREAM");
  setenv("TZ", "America/New_York", 1);  // local time differs from UTC all year
  tzset();
  ::testing::internal::CaptureStderr();
  auto log = GetLogger("utc-test");
  log->info("hello");
  log->flush();
  const std::string line = ::testing::internal::GetCapturedStderr();
  unsetenv("TZ");
  tzset();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(line, m, std::regex(R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d{3}Z \[utc-test\] info: hello)")))
      << line;
  absl::Time t;
  std::string err;
  ASSERT_TRUE(absl::ParseTime("%Y-%m-%dT%H:%M:%S", m[1].str(), absl::UTCTimeZone(), &t, &err)) << err;
  EXPECT_LT(absl::AbsDuration(absl::Now() - t), absl::Seconds(5)) << "the stamp is not UTC: " << line;
}

TEST(Logging, RegisteredSecretsAreRedacted) {
  RegisterSecret("s3cr3t-token-value");
  EXPECT_EQ(Redact("Authorization: Bearer s3cr3t-token-value!"), "Authorization: Bearer [REDACTED]!");
  RegisterSecret("abc");  // too short to redact safely
  EXPECT_EQ(Redact("abcdef"), "abcdef");
}

}  // namespace
}  // namespace failover
