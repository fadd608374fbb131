#include "coordinator/notifier.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

// Answers from a script: the first `failures` posts fail, later ones succeed (or never, < 0).
class ScriptedTransport : public WebhookTransport {
 public:
  explicit ScriptedTransport(int failures) : failures_(failures) {}
  absl::Status Post(const std::string& url, const std::string& body, uint32_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    posts.push_back(url + " " + body);
    if (failures_ < 0 || static_cast<int>(posts.size()) <= failures_) return absl::UnavailableError("HTTP 503");
    return absl::OkStatus();
  }
  std::mutex mu_;
  std::vector<std::string> posts;

 private:
  int failures_;
};

NotificationConfig To(uint32_t attempts) {
  NotificationConfig c;
  c.name = "ops";
  c.url = "http://receiver/hook";
  c.attempts = attempts;
  return c;
}

struct Recorder {
  std::mutex mu;
  std::vector<DeliveryResult> results;
  std::vector<std::chrono::milliseconds> sleeps;
};

TEST(Notifier, RetriesWithBackOffUntilTheReceiverAnswers) {
  ScriptedTransport t(2);
  Recorder rec;
  {
    Notifier n(&t, [&](std::chrono::milliseconds d) { std::lock_guard<std::mutex> l(rec.mu); rec.sleeps.push_back(d); },
               [&](const DeliveryResult& r) { std::lock_guard<std::mutex> l(rec.mu); rec.results.push_back(r); });
    n.Post(To(4), NotifyEvent::kEnd, "{\"text\":\"x\"}");
    ASSERT_TRUE(n.WaitIdle(std::chrono::seconds(5)));
  }
  ASSERT_EQ(rec.results.size(), 1u);
  EXPECT_TRUE(rec.results[0].status.ok());
  EXPECT_EQ(rec.results[0].attempts, 3);
  EXPECT_EQ(rec.sleeps, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(250),
                                                                 std::chrono::milliseconds(500)}));
}

TEST(Notifier, ADeadReceiverIsReportedAfterTheLastAttemptAndPostNeverBlocks) {
  ScriptedTransport t(-1);
  Recorder rec;
  Notifier n(&t, [](std::chrono::milliseconds) {},
             [&](const DeliveryResult& r) { std::lock_guard<std::mutex> l(rec.mu); rec.results.push_back(r); });
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) n.Post(To(3), NotifyEvent::kFailure, "{}");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(100)) << "Post only queues";
  ASSERT_TRUE(n.WaitIdle(std::chrono::seconds(5)));
  std::lock_guard<std::mutex> l(rec.mu);
  ASSERT_EQ(rec.results.size(), 10u);
  EXPECT_FALSE(rec.results[0].status.ok());
  EXPECT_EQ(rec.results[0].attempts, 3);
  EXPECT_EQ(rec.results[0].event, "failure");
}

TEST(Notifier, BackOffDoublesAndIsCapped) {
  EXPECT_EQ(NotifyBackoff(2), std::chrono::milliseconds(250));
  EXPECT_EQ(NotifyBackoff(3), std::chrono::milliseconds(500));
  EXPECT_EQ(NotifyBackoff(9), std::chrono::milliseconds(4000));
}

}  // namespace
}  // namespace failover::coordinator
