// What the probe runner reads besides the network: systemd's journal of unit failures and restic
// repositories. Interfaces only (the agent implements them: agent/journal_failures.*,
// agent/restic_snapshots.*); the coordinator has neither, and its runner refuses such probes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/v1/agent.pb.h"

namespace failover {

struct UnitFailure {
  int64_t at_unix_us = 0;   // when systemd logged it
  std::string result;       // systemd's Result word (exit-code, signal, timeout, ...)
};

class UnitFailureLog {
 public:
  virtual ~UnitFailureLog() = default;
  // Contract: every time systemd (PID 1) logged `unit` as failed ("Failed with result ...",
  // MESSAGE_ID d9b373ed55a64feb8242e02dbe79a49c) at or after since_unix_us, oldest first, at most
  // `limit` entries. An empty list means the log was read and holds no such entry; a log that
  // cannot be read is an error, never an empty list.
  virtual absl::StatusOr<std::vector<UnitFailure>> FailuresSince(const std::string& unit, int64_t since_unix_us,
                                                                 size_t limit) = 0;
};

class ResticSource {
 public:
  virtual ~ResticSource() = default;
  // Contract: runs `restic snapshots --json --latest 1` (with the probe's host/tag filters) on the
  // repository the agent's config names `probe.repository()`, within timeout_ms, and returns its
  // stdout (bounded). NOT_FOUND for a name the config does not define; other errors name restic's
  // complaint (bounded stderr, no secret) or the timeout.
  virtual absl::StatusOr<std::string> LatestSnapshotsJson(const v1::ResticProbe& probe, uint32_t timeout_ms) = 0;
};

}  // namespace failover
