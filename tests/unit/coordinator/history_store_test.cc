#include "coordinator/history_store.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "coordinator/report_metrics.h"
#include "coordinator/report_sample.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string FreshPath(const std::string& name) {
  const std::string dir = std::filesystem::temp_directory_path() / ("fo-history-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

v1::Report MakeRun(const std::string& id, int64_t started, v1::RunOutcome outcome, bool dry,
                   std::vector<std::pair<std::string, int64_t>> services) {
  v1::Report r;
  r.set_run_id(id);
  r.set_started_at_unix_us(started);
  r.set_finished_at_unix_us(started + 5'000'000);
  r.set_outcome(outcome);
  r.set_dry_run(dry);
  r.set_summary("summary of " + id);
  int64_t max = 0;
  for (const auto& [s, down] : services) {
    r.add_services(s);
    auto* sr = r.mutable_metrics()->add_services();
    sr->set_service(s);
    sr->set_max_downtime_us(down);
    max = std::max(max, down);
  }
  r.mutable_metrics()->set_max_downtime_us(max);
  return r;
}

std::vector<std::string> Ids(const std::vector<HistoryRun>& runs) {
  std::vector<std::string> ids;
  for (const auto& r : runs) ids.push_back(r.run_id);
  return ids;
}

TEST(HistoryStore, ListsInsertedRunsNewestFirstWithTheirIndexedColumns) {
  HistoryStore store(FreshPath("list.sqlite"));
  ASSERT_TRUE(store.Insert(MakeRun("a", 100, v1::RUN_SUCCEEDED, true, {{"sls-api", 0}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("b", 300, v1::RUN_FAILED, false, {{"sls-api", 900}, {"sls-bot", 400}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("c", 200, v1::RUN_ABORTED, false, {{"sls-bot", 0}})).ok());
  auto runs = store.List({});
  ASSERT_TRUE(runs.ok()) << runs.status();
  EXPECT_THAT(Ids(*runs), ElementsAre("b", "c", "a"));
  EXPECT_EQ((*runs)[0].outcome, v1::RUN_FAILED);
  EXPECT_FALSE((*runs)[0].dry_run);
  EXPECT_THAT((*runs)[0].services, ElementsAre("sls-api", "sls-bot"));
  EXPECT_EQ((*runs)[0].max_downtime_us, 900);
  EXPECT_EQ((*runs)[0].finished_unix_us, 300 + 5'000'000);
  EXPECT_EQ((*runs)[0].summary, "summary of b");
}

TEST(HistoryStore, FiltersBySinceServiceAndOutcome) {
  HistoryStore store(FreshPath("filter.sqlite"));
  ASSERT_TRUE(store.Insert(MakeRun("a", 100, v1::RUN_SUCCEEDED, false, {{"sls-api", 0}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("b", 200, v1::RUN_FAILED, false, {{"sls-bot", 0}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("c", 300, v1::RUN_SUCCEEDED, false, {{"sls-bot", 0}, {"sls-api", 0}})).ok());
  HistoryFilter since;
  since.since_unix_us = 200;
  EXPECT_THAT(Ids(*store.List(since)), ElementsAre("c", "b"));
  HistoryFilter service;
  service.service = "sls-api";
  EXPECT_THAT(Ids(*store.List(service)), ElementsAre("c", "a"));
  HistoryFilter failed;
  failed.outcome = v1::RUN_FAILED;
  EXPECT_THAT(Ids(*store.List(failed)), ElementsAre("b"));
  HistoryFilter limit;
  limit.limit = 1;
  EXPECT_THAT(Ids(*store.List(limit)), ElementsAre("c"));
}

TEST(HistoryStore, TrendsCountFailuresAndDowntimePerServiceOverTheLastExecutedRuns) {
  HistoryStore store(FreshPath("trends.sqlite"));
  ASSERT_TRUE(store.Insert(MakeRun("old", 100, v1::RUN_FAILED, false, {{"sls-api", 99'000}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("r1", 200, v1::RUN_SUCCEEDED, false, {{"sls-api", 1000}, {"sls-bot", 10}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("r2", 300, v1::RUN_ABORTED, false, {{"sls-api", 3000}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("dry", 350, v1::RUN_FAILED, true, {{"sls-api", 0}})).ok());
  ASSERT_TRUE(store.Insert(MakeRun("r3", 400, v1::RUN_SUCCEEDED, false, {{"sls-api", 2000}})).ok());
  auto trends = store.Trends(3);  // r3, r2, r1: the dry run and "old" are left out
  ASSERT_TRUE(trends.ok()) << trends.status();
  ASSERT_EQ(trends->size(), 2u);
  const ServiceTrend& api = (*trends)[0];
  EXPECT_EQ(api.service, "sls-api");
  EXPECT_EQ(api.runs, 3u);
  EXPECT_EQ(api.failures, 1u);
  EXPECT_NEAR(api.failure_rate, 1.0 / 3, 1e-9);
  EXPECT_EQ(api.median_downtime_us, 2000);
  EXPECT_EQ(api.max_downtime_us, 3000);
  EXPECT_EQ((*trends)[1].service, "sls-bot");
  EXPECT_EQ((*trends)[1].runs, 1u);
  EXPECT_EQ((*trends)[1].max_downtime_us, 10);
}

TEST(HistoryStore, GetWithoutIdIsTheRunThatStartedLastAndSurvivesReopening) {
  const std::string path = FreshPath("get.sqlite");
  {
    HistoryStore store(path);
    ASSERT_TRUE(store.Insert(MakeRun("later", 500, v1::RUN_SUCCEEDED, false, {})).ok());
    ASSERT_TRUE(store.Insert(MakeRun("earlier", 100, v1::RUN_FAILED, false, {})).ok());
  }
  HistoryStore reopened(path);
  auto latest = reopened.Get("");
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->run_id(), "later");
  EXPECT_EQ(reopened.Get("earlier")->summary(), "summary of earlier");
  EXPECT_EQ(reopened.Get("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(HistoryStore, UsesWalAndRecordsItsSchemaVersion) {
  const std::string path = FreshPath("wal.sqlite");
  HistoryStore store(path);
  ASSERT_TRUE(store.Insert(MakeRun("a", 1, v1::RUN_SUCCEEDED, true, {})).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), kHistorySchemaVersion);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// A file as the first release wrote it: schema version 1, one run (no downtime column, no per-service rows).
void WriteVersionOneFile(const std::string& path, const v1::Report& report) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_us INTEGER NOT NULL, finished_us INTEGER "
                         "NOT NULL, outcome INTEGER NOT NULL, dry_run INTEGER NOT NULL, services TEXT NOT NULL, report "
                         "BLOB NOT NULL); CREATE INDEX runs_started ON runs(started_us); PRAGMA user_version = 1;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO runs VALUES (?, ?, ?, ?, 0, 'sls-api', ?)", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, report.run_id().c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(st, 2, report.started_at_unix_us());
  sqlite3_bind_int64(st, 3, report.finished_at_unix_us());
  sqlite3_bind_int64(st, 4, report.outcome());
  const std::string blob = report.SerializeAsString();
  sqlite3_bind_blob(st, 5, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
  ASSERT_EQ(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(HistoryStore, MigratesAVersionOneFileKeepingItsRunsAndFillingTheNewColumns) {
  const std::string path = FreshPath("v1.sqlite");
  WriteVersionOneFile(path, MakeRun("v1-run", 100, v1::RUN_SUCCEEDED, false, {{"sls-api", 4200}}));
  HistoryStore store(path);
  HistoryFilter by_service;
  by_service.service = "sls-api";
  auto runs = store.List(by_service);
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_THAT(Ids(*runs), ElementsAre("v1-run"));
  EXPECT_EQ((*runs)[0].max_downtime_us, 4200);
  EXPECT_EQ((*runs)[0].summary, "summary of v1-run");
  EXPECT_EQ((*store.Trends(10))[0].max_downtime_us, 4200);
  ASSERT_TRUE(store.Insert(MakeRun("v2-run", 200, v1::RUN_FAILED, false, {{"sls-api", 1}})).ok());
  EXPECT_THAT(Ids(*store.List({})), ElementsAre("v2-run", "v1-run"));
}

TEST(HistoryStore, MigratesAVersionTwoFileToTheOutboxSchemaKeepingItsRuns) {
  const std::string path = FreshPath("v2.sqlite");
  {
    HistoryStore v2(path);
    ASSERT_TRUE(v2.Insert(MakeRun("kept", 100, v1::RUN_SUCCEEDED, false, {{"sls-api", 7}})).ok());
  }
  // Roll the file back to what a version-2 coordinator left: no outbox table, no kind column.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "DROP TABLE publish_outbox; ALTER TABLE runs DROP COLUMN kind; PRAGMA user_version = 2;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  HistoryStore store(path);
  ASSERT_THAT(Ids(*store.List({})), ElementsAre("kept"));
  PublishDestination d;
  d.name = "wiki";
  auto id = store.AddPublish(NewOutboxEntry("kept", d, 5));
  ASSERT_TRUE(id.ok()) << id.status();
  auto pubs = store.Publications("kept");
  ASSERT_TRUE(pubs.ok()) << pubs.status();
  ASSERT_EQ(pubs->size(), 1u);
  EXPECT_EQ((*pubs)[0].destination, "wiki");
  EXPECT_EQ((*pubs)[0].state, v1::PUBLISH_PENDING);
}

TEST(HistoryStore, MigratesAVersionThreeFileToTheRunKindColumnKeepingItsRunsAsFailovers) {
  const std::string path = FreshPath("v3.sqlite");
  {
    HistoryStore v3(path);
    ASSERT_TRUE(v3.Insert(MakeRun("old", 100, v1::RUN_SUCCEEDED, false, {{"sls-api", 7}})).ok());
  }
  // Roll the file back to what a version-3 coordinator left: the outbox, no kind column.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE runs DROP COLUMN kind; PRAGMA user_version = 3;", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  HistoryStore store(path);
  v1::Report chaos = MakeRun("chaos", 200, v1::RUN_SUCCEEDED, false, {{"sls-bot", 5}});
  chaos.set_kind(v1::RUN_KIND_CHAOS);
  ASSERT_TRUE(store.Insert(chaos).ok());
  auto runs = store.List({});
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->size(), 2u);
  for (const auto& r : *runs) EXPECT_EQ(r.kind, r.run_id == "chaos" ? v1::RUN_KIND_CHAOS : v1::RUN_KIND_UNSPECIFIED);
}

TEST(HistoryStore, TheOutboxKeepsEachPublishAndListsOnlyDuePendingOnes) {
  HistoryStore store(FreshPath("outbox.sqlite"));
  PublishDestination d;
  d.name = "notion";
  d.kind = PublishKind::kNotion;
  OutboxEntry due = NewOutboxEntry("r1", d, 100);
  OutboxEntry later = NewOutboxEntry("r1", d, 100);
  later.next_attempt_unix_us = 500;
  OutboxEntry done = NewOutboxEntry("r2", d, 100);
  due.id = *store.AddPublish(due);
  later.id = *store.AddPublish(later);
  done.id = *store.AddPublish(done);
  done.state = v1::PUBLISH_DELIVERED;
  done.page_id = "p-1";
  done.blocks_sent = 130;
  ASSERT_TRUE(store.UpdatePublish(done).ok());
  auto now = store.DuePublishes(200);
  ASSERT_TRUE(now.ok()) << now.status();
  ASSERT_EQ(now->size(), 1u);
  EXPECT_EQ((*now)[0].id, due.id);
  EXPECT_EQ(store.DuePublishes(600)->size(), 2u);
  auto read = store.GetPublish(done.id);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->state, v1::PUBLISH_DELIVERED);
  EXPECT_EQ(read->page_id, "p-1");
  EXPECT_EQ(read->blocks_sent, 130u);
  EXPECT_EQ(read->kind, "notion");
  EXPECT_EQ(store.Publications("r1")->size(), 2u);
  EXPECT_EQ(store.GetPublish(999).status().code(), absl::StatusCode::kNotFound);
}

TEST(HistoryStore, RefusesAFileWrittenByANewerSchemaNamingTheFile) {
  const std::string path = FreshPath("newer.sqlite");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  HistoryStore store(path);
  absl::Status s = store.Insert(MakeRun("a", 1, v1::RUN_SUCCEEDED, true, {}));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(path));
  EXPECT_THAT(s.message(), HasSubstr("newer"));
}

TEST(HistoryStore, ACorruptFileFailsWithAnErrorNamingTheFileAndTheFixAndHealsWhenMovedAside) {
  const std::string path = FreshPath("corrupt.sqlite");
  std::ofstream(path) << std::string(8192, 'x');
  HistoryStore store(path);
  absl::Status s = store.Insert(MakeRun("a", 1, v1::RUN_SUCCEEDED, true, {}));
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("history database " + path));
  EXPECT_THAT(s.message(), HasSubstr("mv " + path + " " + path + ".corrupt"));
  EXPECT_THAT(s.message(), HasSubstr("reports are still written"));
  EXPECT_EQ(store.List({}).status().code(), absl::StatusCode::kDataLoss);
  std::filesystem::rename(path, path + ".corrupt");
  EXPECT_TRUE(store.Insert(MakeRun("a", 1, v1::RUN_SUCCEEDED, true, {})).ok());
  EXPECT_THAT(Ids(*store.List({})), ElementsAre("a"));
}

TEST(HistoryStore, ALockedFileFailsAfterTheBusyTimeoutWithAnErrorNamingTheFileAndTheFix) {
  const std::string path = FreshPath("locked.sqlite");
  HistoryStore store(path, /*busy_timeout_ms=*/150);
  ASSERT_TRUE(store.Insert(MakeRun("a", 1, v1::RUN_SUCCEEDED, true, {})).ok());
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = store.Insert(MakeRun("b", 2, v1::RUN_SUCCEEDED, true, {}));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("history database " + path));
  EXPECT_THAT(s.message(), HasSubstr("locked by another process"));
  EXPECT_THAT(s.message(), HasSubstr("fuser " + path));
  EXPECT_GE(waited, std::chrono::milliseconds(100));  // it waited for the lock before giving up
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(store.Insert(MakeRun("b", 2, v1::RUN_SUCCEEDED, true, {})).ok());
}

// The cost of the history: 1,000 realistic reports (the renderers' sample with its recovery
// metrics) into a real file; prints the median write time and the file size.
TEST(HistoryStore, WritesAThousandRealisticReportsCheaplyAndPrintsTheCost) {
  const std::string path = FreshPath("cost.sqlite");
  HistoryStore store(path);
  v1::Report sample = testing::SampleReport();
  *sample.mutable_metrics() = ComputeRecoveryMetrics(sample);
  std::vector<int64_t> us;
  for (int i = 0; i < 1000; ++i) {
    sample.set_run_id("run-" + std::to_string(i));
    sample.set_started_at_unix_us(testing::kT0 + i * 60'000'000LL);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(store.Insert(sample).ok());
    us.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  // Checkpoint so that the size is the main file's.
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  const auto bytes = std::filesystem::file_size(path);
  std::printf("history cost: report %zu bytes serialized; median write %lld us, p99 %lld us; %.1f KiB per 1,000 runs\n",
              sample.ByteSizeLong(), static_cast<long long>(us[500]), static_cast<long long>(us[990]), bytes / 1024.0);
  EXPECT_EQ(store.List({})->size(), 1000u);
  EXPECT_LT(us[500], 50'000);  // well under a run's own cost
}

}  // namespace
}  // namespace failover::coordinator
