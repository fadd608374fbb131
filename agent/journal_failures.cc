#include "agent/journal_failures.h"

#include <systemd/sd-journal.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace failover::agent {
namespace {

// A field's value ("" when absent).
std::string FieldOf(sd_journal* j, const char* name) {
  const void* data = nullptr;
  size_t len = 0;
  if (sd_journal_get_data(j, name, &data, &len) < 0) return "";
  const size_t prefix = std::strlen(name) + 1;  // "NAME="
  if (len <= prefix) return "";
  return std::string(static_cast<const char*>(data) + prefix, len - prefix);
}

absl::Status Err(int rc, const std::string& what) {
  return absl::UnavailableError(absl::StrCat("journal: ", what, ": ", std::strerror(-rc)));
}

}  // namespace

absl::StatusOr<std::vector<UnitFailure>> JournalUnitFailures::FailuresSince(const std::string& unit,
                                                                          int64_t since_unix_us, size_t limit) {
  sd_journal* j = nullptr;
  int rc = directory_.empty() ? sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM)
                              : sd_journal_open_directory(&j, directory_.c_str(), 0);
  if (rc < 0) return Err(rc, "cannot open the system journal");
  uint64_t bytes = 0;
  if (sd_journal_get_usage(j, &bytes) < 0 || bytes == 0) {
    sd_journal_close(j);
    return absl::FailedPreconditionError(
        absl::StrCat("journal: no journal file to read", directory_.empty() ? "" : " in " + directory_,
                     " (journald Storage=none?), so failures of ", unit, " cannot be ruled out"));
  }
  std::vector<UnitFailure> out;
  const std::string matches[] = {absl::StrCat("MESSAGE_ID=", kUnitFailedMessageId), "_PID=1", "UNIT=" + unit};
  for (const auto& m : matches) {
    rc = sd_journal_add_match(j, m.data(), m.size());
    if (rc < 0) break;
  }
  if (rc >= 0) rc = sd_journal_seek_realtime_usec(j, static_cast<uint64_t>(since_unix_us));
  while (rc >= 0 && out.size() < limit) {
    rc = sd_journal_next(j);
    if (rc <= 0) break;
    uint64_t at = 0;
    if (sd_journal_get_realtime_usec(j, &at) < 0 || static_cast<int64_t>(at) < since_unix_us) continue;
    out.push_back({static_cast<int64_t>(at), FieldOf(j, "UNIT_RESULT")});
  }
  sd_journal_close(j);
  if (rc < 0) return Err(rc, absl::StrCat("cannot read the failures of ", unit));
  return out;
}

}  // namespace failover::agent
