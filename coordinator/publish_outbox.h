// The publish outbox's state machine (pure): a publish is recorded PENDING before it is sent;
// each attempt either delivers it (DELIVERED, with where the page is) or schedules the next
// attempt with back-off, until the destination's attempts or age limit, when it is kept FAILED
// with its last error (visible in the report and `runs -o json`, never dropped).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "coordinator/publish_config.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

struct OutboxEntry {
  int64_t id = 0;
  std::string run_id;
  std::string destination;
  std::string kind;  // PublishKindName at enqueue time
  v1::PublishState state = v1::PUBLISH_PENDING;
  uint32_t attempts = 0;
  std::string last_error;
  std::string page_id;
  std::string page_url;
  // Notion: blocks already on the page (a retry appends the rest; the page is not created twice).
  uint32_t blocks_sent = 0;
  int64_t created_unix_us = 0;
  int64_t updated_unix_us = 0;
  int64_t next_attempt_unix_us = 0;
};

// A new entry, due now.
OutboxEntry NewOutboxEntry(const std::string& run_id, const PublishDestination& d, int64_t now_us);

// Back-off before attempt `n + 1` after `n` failed attempts: retry_ms * 2^(n-1), at most 5 min.
int64_t PublishBackoffUs(const PublishDestination& d, uint32_t failed_attempts);

// The entry after one attempt that ended with `result` (`page_*` / blocks_sent already set by the
// attempt). `d` is null when the destination is no longer configured: the entry fails at once.
OutboxEntry AfterAttempt(OutboxEntry e, const absl::Status& result, const PublishDestination* d, int64_t now_us);

v1::PublishStatus ToWire(const OutboxEntry& e);

}  // namespace failover::coordinator
