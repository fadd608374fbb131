#include "coordinator/history_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace failover::coordinator {
namespace {

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  int rc() const { return rc_; }
  sqlite3_stmt* get() { return s_; }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void Bind(int i, const std::string& v) { sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void BindBlob(int i, const std::string& v) {
    sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  int Step() { return sqlite3_step(s_); }
  int64_t Int(int col) { return sqlite3_column_int64(s_, col); }
  std::string Text(int col) {
    const auto* p = sqlite3_column_blob(s_, col);
    return p == nullptr ? "" : std::string(static_cast<const char*>(p), sqlite3_column_bytes(s_, col));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_OK;
};

// Version 1: the runs table with the report beside its indexed columns.
constexpr char kSchemaV1[] =
    "CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_us INTEGER NOT NULL, finished_us INTEGER NOT NULL, "
    "outcome INTEGER NOT NULL, dry_run INTEGER NOT NULL, services TEXT NOT NULL, report BLOB NOT NULL);"
    "CREATE INDEX runs_started ON runs(started_us);";
// Version 2: max downtime and summary columns, per-service downtimes (for trends and --service).
constexpr char kSchemaV2[] =
    "ALTER TABLE runs ADD COLUMN max_downtime_us INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE runs ADD COLUMN summary TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE run_services (run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, "
    "service TEXT NOT NULL, downtime_us INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (run_id, service));"
    "CREATE INDEX run_services_service ON run_services(service);";
// Version 3: the publish outbox (failoverctl report RUN --publish NAME), kept after delivery.
constexpr char kSchemaV3[] =
    "CREATE TABLE publish_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, "
    "destination TEXT NOT NULL, kind TEXT NOT NULL, state INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "last_error TEXT NOT NULL DEFAULT '', page_id TEXT NOT NULL DEFAULT '', page_url TEXT NOT NULL DEFAULT '', "
    "blocks_sent INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL, updated_us INTEGER NOT NULL, "
    "next_attempt_us INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX publish_outbox_due ON publish_outbox(state, next_attempt_us);"
    "CREATE INDEX publish_outbox_run ON publish_outbox(run_id);";

// Version 4: the run's kind (failover, inject, chaos: Report.kind), for `failoverctl runs`.
constexpr char kSchemaV4[] = "ALTER TABLE runs ADD COLUMN kind INTEGER NOT NULL DEFAULT 0;";

int64_t ServiceDowntime(const v1::Report& r, const std::string& service) {
  for (const auto& s : r.metrics().services())
    if (s.service() == service) return s.max_downtime_us();
  return 0;
}

bool Failed(v1::RunOutcome o) { return o != v1::RUN_SUCCEEDED && o != v1::RUN_RUNNING; }

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

}  // namespace

std::vector<ServiceTrend> ComputeTrends(const std::vector<TrendInput>& runs) {
  std::map<std::string, ServiceTrend> by_service;
  std::map<std::string, std::vector<int64_t>> downtimes;
  std::vector<std::string> order;
  for (const auto& in : runs) {
    for (const auto& s : in.run.services) {
      auto [it, added] = by_service.try_emplace(s);
      if (added) order.push_back(s);
      it->second.service = s;
      ++it->second.runs;
      if (Failed(in.run.outcome)) ++it->second.failures;
    }
    for (const auto& [s, us] : in.service_downtime_us)
      if (us > 0) downtimes[s].push_back(us);
  }
  std::vector<ServiceTrend> out;
  for (const auto& s : order) {
    ServiceTrend t = by_service[s];
    t.failure_rate = t.runs == 0 ? 0 : static_cast<double>(t.failures) / t.runs;
    const auto& d = downtimes[s];
    t.median_downtime_us = Median(d);
    t.max_downtime_us = d.empty() ? 0 : *std::max_element(d.begin(), d.end());
    out.push_back(t);
  }
  return out;
}

HistoryStore::HistoryStore(std::string path, int busy_timeout_ms)
    : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

HistoryStore::~HistoryStore() {
  std::lock_guard<std::mutex> lock(mu_);
  CloseLocked();
}

void HistoryStore::CloseLocked() {
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

absl::Status HistoryStore::Error(const std::string& what, int rc) const {
  const std::string detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  const std::string head = absl::StrCat("history database ", path_, ": ", what, ": ", detail, "; ");
  const std::string tail = " (runs go on and their reports are still written to files and the run journal)";
  switch (rc & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::DataLossError(absl::StrCat(head, "the file is corrupt or not a SQLite database: move it aside (mv ",
                                              path_, " ", path_, ".corrupt) and the next run starts a new history", tail));
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(absl::StrCat(head, "it is locked by another process (waited ", busy_timeout_ms_,
                                                 " ms): find it with `fuser ", path_, "` and stop it", tail));
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::PermissionDeniedError(absl::StrCat(
          head, "the coordinator cannot write it: check the --state-dir exists and the file and directory are "
                "writable by the coordinator's user", tail));
    default:
      return absl::InternalError(absl::StrCat(head, "move the file aside if this persists", tail));
  }
}

absl::Status HistoryStore::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return rc == SQLITE_OK ? absl::OkStatus() : Error("cannot run \"" + sql.substr(0, 60) + "\"", rc);
}

absl::Status HistoryStore::EnsureOpen() {
  if (db_ != nullptr) return absl::OkStatus();
  int rc = sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    absl::Status s = Error("cannot open", rc);
    CloseLocked();
    return s;
  }
  sqlite3_busy_timeout(db_, busy_timeout_ms_);
  absl::Status s = Exec("PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL;");
  if (s.ok()) s = Migrate();
  if (!s.ok()) CloseLocked();
  return s;
}

namespace {

// The per-service rows of one run (its order's services, with their downtime).
absl::Status WriteServices(sqlite3* db, const v1::Report& r, const std::function<absl::Status(int)>& err) {
  Stmt del(db, "DELETE FROM run_services WHERE run_id = ?");
  del.Bind(1, r.run_id());
  if (int rc = del.Step(); rc != SQLITE_DONE) return err(rc);
  for (const auto& s : r.services()) {
    Stmt ins(db, "INSERT OR REPLACE INTO run_services (run_id, service, downtime_us) VALUES (?, ?, ?)");
    ins.Bind(1, r.run_id());
    ins.Bind(2, s);
    ins.Bind(3, ServiceDowntime(r, s));
    if (int rc = ins.Step(); rc != SQLITE_DONE) return err(rc);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status HistoryStore::Migrate() {
  Stmt v(db_, "PRAGMA user_version");
  if (v.rc() != SQLITE_OK) return Error("cannot read the schema version", v.rc());
  if (int rc = v.Step(); rc != SQLITE_ROW) return Error("cannot read the schema version", rc);
  int version = static_cast<int>(v.Int(0));
  if (version > kHistorySchemaVersion)
    return absl::FailedPreconditionError(absl::StrCat(
        "history database ", path_, ": schema version ", version, " is newer than this coordinator's (",
        kHistorySchemaVersion, "): run the newer failover-coordinator, or move the file aside"));
  auto err = [this](int rc) { return Error("cannot migrate the schema", rc); };
  // Migration i takes version i to i + 1, in one transaction with its user_version.
  const std::vector<std::function<absl::Status()>> migrations = {
      [this] { return Exec(kSchemaV1); },
      [this, &err]() -> absl::Status {
        if (absl::Status s = Exec(kSchemaV2); !s.ok()) return s;
        Stmt rows(db_, "SELECT report FROM runs");
        for (int rc = rows.Step(); rc != SQLITE_DONE; rc = rows.Step()) {
          if (rc != SQLITE_ROW) return err(rc);
          v1::Report r;
          if (!r.ParseFromString(rows.Text(0))) continue;  // an unreadable report keeps its defaults
          Stmt up(db_, "UPDATE runs SET max_downtime_us = ?, summary = ? WHERE run_id = ?");
          up.Bind(1, r.metrics().max_downtime_us());
          up.Bind(2, r.summary());
          up.Bind(3, r.run_id());
          if (int urc = up.Step(); urc != SQLITE_DONE) return err(urc);
          if (absl::Status s = WriteServices(db_, r, err); !s.ok()) return s;
        }
        return absl::OkStatus();
      },
      [this] { return Exec(kSchemaV3); }, [this] { return Exec(kSchemaV4); }};
  for (; version < kHistorySchemaVersion; ++version) {
    if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
    absl::Status s = migrations[version]();
    if (s.ok()) s = Exec(absl::StrCat("PRAGMA user_version = ", version + 1));
    if (s.ok()) s = Exec("COMMIT");
    if (!s.ok()) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status HistoryStore::Insert(const v1::Report& report) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  auto err = [this, &report](int rc) { return Error("cannot record run " + report.run_id(), rc); };
  if (absl::Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Stmt ins(db_,
           "INSERT OR REPLACE INTO runs (run_id, started_us, finished_us, outcome, dry_run, services, report, "
           "max_downtime_us, summary, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  ins.Bind(1, report.run_id());
  ins.Bind(2, report.started_at_unix_us());
  ins.Bind(3, report.finished_at_unix_us());
  ins.Bind(4, static_cast<int64_t>(report.outcome()));
  ins.Bind(5, report.dry_run() ? 1 : 0);
  ins.Bind(6, absl::StrJoin(report.services(), ","));
  ins.BindBlob(7, report.SerializeAsString());
  ins.Bind(8, report.metrics().max_downtime_us());
  ins.Bind(9, report.summary());
  ins.Bind(10, static_cast<int64_t>(report.kind()));
  absl::Status s = ins.Step() == SQLITE_DONE ? absl::OkStatus() : err(sqlite3_errcode(db_));
  if (s.ok()) s = WriteServices(db_, report, err);
  if (s.ok()) s = Exec("COMMIT");
  if (!s.ok()) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

namespace {

constexpr char kRunColumns[] =
    "SELECT run_id, started_us, finished_us, outcome, dry_run, services, max_downtime_us, summary, kind FROM runs";

HistoryRun ReadRun(Stmt& q) {
  HistoryRun r;
  r.run_id = q.Text(0);
  r.started_unix_us = q.Int(1);
  r.finished_unix_us = q.Int(2);
  r.outcome = static_cast<v1::RunOutcome>(q.Int(3));
  r.dry_run = q.Int(4) != 0;
  const std::string services = q.Text(5);
  if (!services.empty()) r.services = absl::StrSplit(services, ',');
  r.max_downtime_us = q.Int(6);
  r.summary = q.Text(7);
  r.kind = static_cast<v1::RunKind>(q.Int(8));
  return r;
}

}  // namespace

absl::StatusOr<std::vector<HistoryRun>> HistoryStore::List(const HistoryFilter& filter) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, absl::StrCat(kRunColumns,
                           " WHERE started_us >= ?1 AND (?2 = '' OR run_id IN (SELECT run_id FROM run_services "
                           "WHERE service = ?2)) AND (?3 < 0 OR outcome = ?3) ORDER BY started_us DESC LIMIT ?4"));
  if (q.rc() != SQLITE_OK) return Error("cannot list runs", q.rc());
  q.Bind(1, filter.since_unix_us);
  q.Bind(2, filter.service);
  q.Bind(3, filter.outcome ? static_cast<int64_t>(*filter.outcome) : -1);
  q.Bind(4, static_cast<int64_t>(filter.limit));
  std::vector<HistoryRun> out;
  for (int rc = q.Step(); rc != SQLITE_DONE; rc = q.Step()) {
    if (rc != SQLITE_ROW) return Error("cannot list runs", rc);
    out.push_back(ReadRun(q));
  }
  return out;
}

absl::StatusOr<std::vector<ServiceTrend>> HistoryStore::Trends(uint32_t last) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, absl::StrCat(kRunColumns, " WHERE dry_run = 0 ORDER BY started_us DESC LIMIT ?1"));
  if (q.rc() != SQLITE_OK) return Error("cannot compute trends", q.rc());
  q.Bind(1, static_cast<int64_t>(last));
  std::vector<TrendInput> runs;
  for (int rc = q.Step(); rc != SQLITE_DONE; rc = q.Step()) {
    if (rc != SQLITE_ROW) return Error("cannot compute trends", rc);
    runs.push_back({ReadRun(q), {}});
  }
  for (auto& in : runs) {
    Stmt d(db_, "SELECT service, downtime_us FROM run_services WHERE run_id = ?");
    d.Bind(1, in.run.run_id);
    for (int rc = d.Step(); rc == SQLITE_ROW; rc = d.Step()) in.service_downtime_us.emplace_back(d.Text(0), d.Int(1));
  }
  return ComputeTrends(runs);
}

absl::StatusOr<v1::Report> HistoryStore::Get(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, run_id.empty() ? "SELECT report FROM runs ORDER BY started_us DESC LIMIT 1"
                             : "SELECT report FROM runs WHERE run_id = ?");
  if (!run_id.empty()) q.Bind(1, run_id);
  int rc = q.Step();
  if (rc == SQLITE_DONE)
    return absl::NotFoundError(run_id.empty() ? "no run recorded in the history yet"
                                              : absl::StrCat("run ", run_id, " is not in the history"));
  if (rc != SQLITE_ROW) return Error("cannot read a report", rc);
  v1::Report r;
  if (!r.ParseFromString(q.Text(0)))
    return absl::DataLossError(absl::StrCat("history database ", path_, ": the stored report of ",
                                            run_id.empty() ? "the latest run" : run_id, " does not parse"));
  return r;
}

namespace {

constexpr char kOutboxColumns[] =
    "SELECT id, run_id, destination, kind, state, attempts, last_error, page_id, page_url, blocks_sent, created_us, "
    "updated_us, next_attempt_us FROM publish_outbox";

OutboxEntry ReadOutbox(Stmt& q) {
  OutboxEntry e;
  e.id = q.Int(0);
  e.run_id = q.Text(1);
  e.destination = q.Text(2);
  e.kind = q.Text(3);
  e.state = static_cast<v1::PublishState>(q.Int(4));
  e.attempts = static_cast<uint32_t>(q.Int(5));
  e.last_error = q.Text(6);
  e.page_id = q.Text(7);
  e.page_url = q.Text(8);
  e.blocks_sent = static_cast<uint32_t>(q.Int(9));
  e.created_unix_us = q.Int(10);
  e.updated_unix_us = q.Int(11);
  e.next_attempt_unix_us = q.Int(12);
  return e;
}

}  // namespace

absl::StatusOr<int64_t> HistoryStore::AddPublish(const OutboxEntry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt ins(db_,
           "INSERT INTO publish_outbox (run_id, destination, kind, state, attempts, last_error, page_id, page_url, "
           "blocks_sent, created_us, updated_us, next_attempt_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (ins.rc() != SQLITE_OK) return Error("cannot record a publish", ins.rc());
  ins.Bind(1, e.run_id);
  ins.Bind(2, e.destination);
  ins.Bind(3, e.kind);
  ins.Bind(4, static_cast<int64_t>(e.state));
  ins.Bind(5, static_cast<int64_t>(e.attempts));
  ins.Bind(6, e.last_error);
  ins.Bind(7, e.page_id);
  ins.Bind(8, e.page_url);
  ins.Bind(9, static_cast<int64_t>(e.blocks_sent));
  ins.Bind(10, e.created_unix_us);
  ins.Bind(11, e.updated_unix_us);
  ins.Bind(12, e.next_attempt_unix_us);
  if (int rc = ins.Step(); rc != SQLITE_DONE) return Error("cannot record a publish", rc);
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db_));
}

absl::Status HistoryStore::UpdatePublish(const OutboxEntry& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt up(db_,
          "UPDATE publish_outbox SET state = ?, attempts = ?, last_error = ?, page_id = ?, page_url = ?, "
          "blocks_sent = ?, updated_us = ?, next_attempt_us = ? WHERE id = ?");
  if (up.rc() != SQLITE_OK) return Error("cannot update a publish", up.rc());
  up.Bind(1, static_cast<int64_t>(e.state));
  up.Bind(2, static_cast<int64_t>(e.attempts));
  up.Bind(3, e.last_error);
  up.Bind(4, e.page_id);
  up.Bind(5, e.page_url);
  up.Bind(6, static_cast<int64_t>(e.blocks_sent));
  up.Bind(7, e.updated_unix_us);
  up.Bind(8, e.next_attempt_unix_us);
  up.Bind(9, e.id);
  if (int rc = up.Step(); rc != SQLITE_DONE) return Error("cannot update a publish", rc);
  return absl::OkStatus();
}

absl::StatusOr<OutboxEntry> HistoryStore::GetPublish(int64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, absl::StrCat(kOutboxColumns, " WHERE id = ?"));
  q.Bind(1, id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return absl::NotFoundError(absl::StrCat("publish ", id, " is not in the outbox"));
  if (rc != SQLITE_ROW) return Error("cannot read a publish", rc);
  return ReadOutbox(q);
}

absl::StatusOr<std::vector<OutboxEntry>> HistoryStore::DuePublishes(int64_t now_us, uint32_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, absl::StrCat(kOutboxColumns, " WHERE state = ?1 AND next_attempt_us <= ?2 ORDER BY next_attempt_us, id "
                                           "LIMIT ?3"));
  q.Bind(1, static_cast<int64_t>(v1::PUBLISH_PENDING));
  q.Bind(2, now_us);
  q.Bind(3, static_cast<int64_t>(limit));
  std::vector<OutboxEntry> out;
  for (int rc = q.Step(); rc != SQLITE_DONE; rc = q.Step()) {
    if (rc != SQLITE_ROW) return Error("cannot read the publish outbox", rc);
    out.push_back(ReadOutbox(q));
  }
  return out;
}

absl::StatusOr<int64_t> HistoryStore::NextPublishDueUs() {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, "SELECT MIN(next_attempt_us) FROM publish_outbox WHERE state = ?");
  q.Bind(1, static_cast<int64_t>(v1::PUBLISH_PENDING));
  if (int rc = q.Step(); rc != SQLITE_ROW) return Error("cannot read the publish outbox", rc);
  return q.Int(0);  // NULL (nothing pending) reads as 0
}

absl::StatusOr<std::vector<OutboxEntry>> HistoryStore::Publications(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureOpen(); !s.ok()) return s;
  Stmt q(db_, absl::StrCat(kOutboxColumns, " WHERE run_id = ? ORDER BY id"));
  q.Bind(1, run_id);
  std::vector<OutboxEntry> out;
  for (int rc = q.Step(); rc != SQLITE_DONE; rc = q.Step()) {
    if (rc != SQLITE_ROW) return Error("cannot read the publish outbox", rc);
    out.push_back(ReadOutbox(q));
  }
  return out;
}

}  // namespace failover::coordinator
