// The agent's unit-failure history: systemd's journal (sd-journal), read for the entries PID 1
// writes when a unit fails ("Failed with result ...", MESSAGE_ID d9b373ed55a64feb8242e02dbe79a49c,
// with UNIT= and UNIT_RESULT=). Contract: failover/probe_sources.h (UnitFailureLog).
#pragma once

#include <string>

#include "failover/probe_sources.h"

namespace failover::agent {

// systemd's catalog id of "unit failed" (SD_MESSAGE_UNIT_FAILURE_RESULT).
inline constexpr char kUnitFailedMessageId[] = "d9b373ed55a64feb8242e02dbe79a49c";

class JournalUnitFailures : public UnitFailureLog {
 public:
  // Reads the local system journal (this host's journald files) on every call, or the journal
  // files in `directory` when set. No journal file at all is an error (a host with
  // Storage=none cannot tell), never "no failures".
  explicit JournalUnitFailures(std::string directory = "") : directory_(std::move(directory)) {}
  absl::StatusOr<std::vector<UnitFailure>> FailuresSince(const std::string& unit, int64_t since_unix_us,
                                                         size_t limit) override;

 private:
  std::string directory_;
};

}  // namespace failover::agent
