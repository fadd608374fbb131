// The journal reader's refusal to vouch for a host it cannot read. Its finding of a real failure
// is proven on real systemd: tests/e2e/gates_e2e_test.cc (MonitorGuard...).
#include "agent/journal_failures.h"

#include <filesystem>

#include "gtest/gtest.h"

namespace failover::agent {
namespace {

TEST(JournalUnitFailures, ADirectoryWithoutJournalFilesIsAnErrorNotAnEmptyList) {
  const auto dir = std::filesystem::temp_directory_path() / "journal-failures-test-empty";
  std::filesystem::create_directories(dir);
  JournalUnitFailures journal(dir.string());
  auto f = journal.FailuresSince("sls-monitor.service", 1, 5);
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("failures of sls-monitor.service cannot be ruled out"), std::string::npos)
      << f.status();
}

TEST(JournalUnitFailures, AMissingDirectoryIsAnError) {
  JournalUnitFailures journal("/nonexistent/journal-failures-test");
  EXPECT_FALSE(journal.FailuresSince("sls-monitor.service", 1, 5).ok());
}

}  // namespace
}  // namespace failover::agent
