// Run history: every finished run (dry, executed, failed, aborted, refused, interrupted) in a SQLite
// database in the coordinator's state dir, for `failoverctl runs`, `trends` and `report` after a
// restart. Pure room: links sqlite3 and protobuf, no gRPC. The JSON run store stays the crash
// journal; this is the long-term record.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/publish_outbox.h"
#include "failover/v1/report.pb.h"

struct sqlite3;

namespace failover::coordinator {

// The schema version this code writes; older files are migrated on open (see kMigrations).
inline constexpr int kHistorySchemaVersion = 4;

// One row of `failoverctl runs` (the indexed columns; the whole report is stored beside them).
struct HistoryRun {
  std::string run_id;
  int64_t started_unix_us = 0;
  int64_t finished_unix_us = 0;
  v1::RunOutcome outcome = v1::RUN_OUTCOME_UNSPECIFIED;
  bool dry_run = true;
  std::vector<std::string> services;
  int64_t max_downtime_us = 0;
  std::string summary;
  v1::RunKind kind = v1::RUN_KIND_UNSPECIFIED;  // failover (unset), inject, chaos
};

struct HistoryFilter {
  int64_t since_unix_us = 0;                           // 0 = any time
  std::string service;                                 // "" = any service
  std::optional<v1::RunOutcome> outcome;               // unset = any outcome
  uint32_t limit = 1000;                               // newest first
};

// Per service over the last N executed runs (dry runs change nothing and are left out).
struct ServiceTrend {
  std::string service;
  uint32_t runs = 0;
  // Runs that did not succeed (failed, aborted, interrupted, refused).
  uint32_t failures = 0;
  double failure_rate = 0;  // failures / runs
  // Over the runs in which the service went down (metrics.services); 0 when none did.
  int64_t median_downtime_us = 0;
  int64_t max_downtime_us = 0;
};

// Per-service trends from rows given newest first (pure; HistoryStore::Trends feeds it).
struct TrendInput {
  HistoryRun run;
  std::vector<std::pair<std::string, int64_t>> service_downtime_us;  // from metrics.services
};
std::vector<ServiceTrend> ComputeTrends(const std::vector<TrendInput>& runs);

class HistoryStore {
 public:
  // The file is opened (and created or migrated) lazily, on first use, and again after a failure:
  // a corrupt or locked file fails that call with an error naming the file and the fix, and the
  // next call tries again (so moving a corrupt file aside heals without a restart).
  explicit HistoryStore(std::string path, int busy_timeout_ms = 2000);
  ~HistoryStore();
  HistoryStore(const HistoryStore&) = delete;
  HistoryStore& operator=(const HistoryStore&) = delete;

  const std::string& path() const { return path_; }
  // Records a finished run (a second insert of the same run id replaces it).
  absl::Status Insert(const v1::Report& report);
  absl::StatusOr<std::vector<HistoryRun>> List(const HistoryFilter& filter);
  // Trends over the last `last` executed runs.
  absl::StatusOr<std::vector<ServiceTrend>> Trends(uint32_t last);
  // The stored report of `run_id`, or of the run that started last when empty; NOT_FOUND otherwise.
  absl::StatusOr<v1::Report> Get(const std::string& run_id);

  // The publish outbox (schema 3): a publish is recorded here before it is sent and updated after
  // each attempt (see publish_outbox.h). AddPublish returns the new entry's id.
  absl::StatusOr<int64_t> AddPublish(const OutboxEntry& entry);
  absl::Status UpdatePublish(const OutboxEntry& entry);
  absl::StatusOr<OutboxEntry> GetPublish(int64_t id);
  // Pending entries due at `now_us` (oldest first, at most `limit`).
  absl::StatusOr<std::vector<OutboxEntry>> DuePublishes(int64_t now_us, uint32_t limit = 32);
  // When the earliest pending entry is due (unix us), or 0 when nothing is pending.
  absl::StatusOr<int64_t> NextPublishDueUs();
  // Every publish of `run_id`, oldest first.
  absl::StatusOr<std::vector<OutboxEntry>> Publications(const std::string& run_id);

 private:
  absl::Status EnsureOpen();  // requires mu_
  void CloseLocked();         // requires mu_
  absl::Status Migrate();     // requires mu_
  absl::Status Exec(const std::string& sql);
  absl::Status Error(const std::string& what, int rc) const;

  std::string path_;
  int busy_timeout_ms_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace failover::coordinator
