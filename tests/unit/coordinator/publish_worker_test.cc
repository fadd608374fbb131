// The outbox worker (publish_worker.cc) over a scripted transport and a real history file.
#include "coordinator/publish_worker.h"

#include <filesystem>
#include <mutex>

#include "coordinator/report_sample.h"
#include "failover/logging.h"
#include "fakes.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;

std::string FreshPath(const std::string& name) {
  const std::string dir = std::filesystem::temp_directory_path() / ("fo-publish-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + name;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  return path;
}

// Answers from a script (then 200 with `body`), recording every request.
class ScriptedTransport : public PublishTransport {
 public:
  absl::StatusOr<HttpAnswer> Send(const HttpRequest& r, uint32_t) override {
    std::lock_guard<std::mutex> lock(mu);
    requests.push_back(r);
    if (!script.empty()) {
      auto a = script.front();
      script.erase(script.begin());
      return a;
    }
    return HttpAnswer{200, body};
  }
  std::mutex mu;
  std::vector<absl::StatusOr<HttpAnswer>> script;
  std::vector<HttpRequest> requests;
  std::string body = R"({"id":"page-1","url":"https://notion.test/page-1"})";
};

struct Bed {
  explicit Bed(const std::string& name) : history(FreshPath(name)) {
    v1::Report r = testing::SampleReport();
    EXPECT_TRUE(history.Insert(r).ok());
    run_id = r.run_id();
  }
  Publisher Make(std::vector<PublishDestination> dests) {
    return Publisher(&history, [dests] { return dests; }, &transport, &clock);
  }
  HistoryStore history;
  ScriptedTransport transport;
  failover::testing::FakeClock clock;
  std::string run_id;
};

PublishDestination Dest(PublishKind kind) {
  PublishDestination d;
  d.name = "dest";
  d.kind = kind;
  d.url = "https://x.test";
  d.space_key = "OPS";
  d.parent_page_id = "parent";
  d.token = "tok";
  d.retry_ms = 1000;
  return d;
}

TEST(PublishWorker, AFailedAttemptIsRecordedAndRetriedOnlyWhenDue) {
  Bed bed("retry.sqlite");
  bed.transport.script = {HttpAnswer{503, "busy"}};
  bed.transport.body = R"({"id":"c-1","_links":{"base":"https://w","webui":"/p/1"}})";
  Publisher p = bed.Make({Dest(PublishKind::kConfluence)});
  auto e = p.Enqueue(bed.run_id, Dest(PublishKind::kConfluence));
  ASSERT_TRUE(e.ok()) << e.status();
  p.RunDue();
  auto after1 = *bed.history.GetPublish(e->id);
  EXPECT_EQ(after1.state, v1::PUBLISH_PENDING);
  EXPECT_THAT(after1.last_error, HasSubstr("HTTP 503"));
  p.RunDue();
  EXPECT_EQ(bed.transport.requests.size(), 1u) << "not due yet: no second request";
  bed.clock.Advance(std::chrono::seconds(1));
  p.RunDue();
  auto after2 = *bed.history.GetPublish(e->id);
  EXPECT_EQ(after2.state, v1::PUBLISH_DELIVERED);
  EXPECT_EQ(after2.attempts, 2u);
  EXPECT_EQ(after2.page_url, "https://w/p/1");
}

TEST(PublishWorker, AnIdleWorkerSleepsUntilTheNextRetryIsDueAndAMinuteWhenNothingIsPending) {
  Bed bed("idle.sqlite");
  bed.transport.script = {HttpAnswer{503, "busy"}};
  bed.transport.body = R"({"id":"c-1","_links":{"base":"https://w","webui":"/p/1"}})";
  Publisher p = bed.Make({Dest(PublishKind::kConfluence)});
  EXPECT_EQ(p.UntilNextDue(), std::chrono::minutes(1)) << "nothing pending: no reason to read the outbox";
  auto e = p.Enqueue(bed.run_id, Dest(PublishKind::kConfluence));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(p.UntilNextDue(), std::chrono::milliseconds(0)) << "a new entry is due at once";
  p.RunDue();
  const auto retry = p.UntilNextDue();
  EXPECT_GT(retry, std::chrono::milliseconds(0));
  EXPECT_LE(retry, std::chrono::seconds(1)) << "the first back-off, not a minute";
  bed.clock.Advance(std::chrono::seconds(1));
  p.RunDue();
  EXPECT_EQ(bed.history.GetPublish(e->id)->state, v1::PUBLISH_DELIVERED);
  EXPECT_EQ(p.UntilNextDue(), std::chrono::minutes(1)) << "delivered: nothing pending";
}

TEST(PublishWorker, ANotionPageIsCreatedOnceAndTheRestAppendedEvenAcrossARetry) {
  Bed bed("notion.sqlite");
  v1::Report big = testing::SampleReport();
  big.set_run_id("big-run");
  for (int i = 0; i < 150; ++i) big.add_errors("error line " + std::to_string(i));
  ASSERT_TRUE(bed.history.Insert(big).ok());
  // create ok, first append fails, then everything ok
  bed.transport.script = {HttpAnswer{200, R"({"id":"page-1","url":"u"})"}, HttpAnswer{502, ""}};
  Publisher p = bed.Make({Dest(PublishKind::kNotion)});
  auto e = p.Enqueue("big-run", Dest(PublishKind::kNotion));
  p.RunDue();
  EXPECT_EQ(bed.history.GetPublish(e->id)->state, v1::PUBLISH_PENDING);
  bed.clock.Advance(std::chrono::seconds(5));
  p.RunDue();
  auto done = *bed.history.GetPublish(e->id);
  EXPECT_EQ(done.state, v1::PUBLISH_DELIVERED) << done.last_error;
  int creates = 0, appends = 0;
  for (const auto& r : bed.transport.requests) {
    if (r.method == "POST") ++creates;
    if (r.method == "PATCH") {
      ++appends;
      EXPECT_EQ(r.url, "https://x.test/v1/blocks/page-1/children");
    }
  }
  EXPECT_EQ(creates, 1) << "a retry must not create a second page";
  EXPECT_GE(appends, 2) << "the failed append is sent again";
  EXPECT_GT(done.blocks_sent, 100u);
}

TEST(PublishWorker, AnUnknownDestinationIsRefusedNamingTheConfiguredOnes) {
  Bed bed("unknown.sqlite");
  PublishDestination a = Dest(PublishKind::kWebhook);
  a.name = "ops-wiki";
  Publisher p = bed.Make({a});
  auto e = p.Request(bed.run_id, "https://evil.example.com", "unix socket", std::chrono::milliseconds(10));
  ASSERT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(e.status().message(), HasSubstr("configured: ops-wiki"));
  EXPECT_TRUE(bed.history.Publications(bed.run_id)->empty()) << "nothing queued";
  EXPECT_TRUE(bed.transport.requests.empty());
}

TEST(PublishWorker, ARequestForAnUnknownRunIsNotFoundAndQueuesNothing) {
  Bed bed("norun.sqlite");
  Publisher p = bed.Make({Dest(PublishKind::kWebhook)});
  auto e = p.Request("no-such-run", "dest", "unix socket", std::chrono::milliseconds(10));
  EXPECT_EQ(e.status().code(), absl::StatusCode::kNotFound);
}

TEST(PublishWorker, TheWorkerThreadDeliversARequestBeforeTheWaitEndsAndErrorsNeverHoldTheToken) {
  Bed bed("thread.sqlite");
  PublishDestination d = Dest(PublishKind::kWebhook);
  d.token = "hook-token-xyz";
  RegisterSecret(d.token);
  bed.transport.script = {HttpAnswer{500, "echo: Bearer hook-token-xyz"}};
  Publisher p = bed.Make({d});
  p.Start();
  auto e = p.Request("", "dest", "unix socket", std::chrono::seconds(5));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->run_id, bed.run_id) << "no run id: the latest run";
  EXPECT_EQ(e->attempts, 1u);
  EXPECT_EQ(e->state, v1::PUBLISH_PENDING);
  EXPECT_THAT(e->last_error, HasSubstr("HTTP 500"));
  EXPECT_THAT(e->last_error, ::testing::Not(HasSubstr("hook-token-xyz")));
}

TEST(PublishWorker, ADestinationRemovedBeforeTheAttemptFailsTheEntryAndSendsNothing) {
  Bed bed("removed.sqlite");
  Publisher p = bed.Make({});
  auto e = p.Enqueue(bed.run_id, Dest(PublishKind::kWebhook));
  p.RunDue();
  EXPECT_EQ(bed.history.GetPublish(e->id)->state, v1::PUBLISH_FAILED);
  EXPECT_TRUE(bed.transport.requests.empty());
}

}  // namespace
}  // namespace failover::coordinator
