// The publish outbox's state machine (publish_outbox.cc).
#include "coordinator/publish_outbox.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;

PublishDestination Dest() {
  PublishDestination d;
  d.name = "wiki";
  d.kind = PublishKind::kConfluence;
  d.attempts = 3;
  d.retry_ms = 1000;
  d.max_age_s = 3600;
  return d;
}

TEST(PublishOutbox, ANewPublishIsPendingAndDueAtOnce) {
  OutboxEntry e = NewOutboxEntry("run-1", Dest(), 500);
  EXPECT_EQ(e.state, v1::PUBLISH_PENDING);
  EXPECT_EQ(e.next_attempt_unix_us, 500);
  EXPECT_EQ(e.kind, "confluence");
  EXPECT_EQ(e.attempts, 0u);
}

TEST(PublishOutbox, AFailedAttemptStaysPendingWithTheErrorAndADoublingBackOff) {
  const PublishDestination d = Dest();
  OutboxEntry e = AfterAttempt(NewOutboxEntry("r", d, 0), absl::UnavailableError("HTTP 503"), &d, 10);
  EXPECT_EQ(e.state, v1::PUBLISH_PENDING);
  EXPECT_EQ(e.attempts, 1u);
  EXPECT_EQ(e.last_error, "HTTP 503");
  EXPECT_EQ(e.next_attempt_unix_us, 10 + 1'000'000);
  e = AfterAttempt(e, absl::UnavailableError("HTTP 503"), &d, 20);
  EXPECT_EQ(e.next_attempt_unix_us, 20 + 2'000'000);
  EXPECT_EQ(PublishBackoffUs(d, 30), 300'000'000) << "at most 5 min";
}

TEST(PublishOutbox, ASuccessDeliversAndClearsTheError) {
  const PublishDestination d = Dest();
  OutboxEntry e = AfterAttempt(NewOutboxEntry("r", d, 0), absl::UnavailableError("down"), &d, 1);
  e.page_id = "123";
  e = AfterAttempt(e, absl::OkStatus(), &d, 2);
  EXPECT_EQ(e.state, v1::PUBLISH_DELIVERED);
  EXPECT_EQ(e.attempts, 2u);
  EXPECT_EQ(e.last_error, "");
  EXPECT_EQ(e.page_id, "123");
  EXPECT_EQ(e.next_attempt_unix_us, 0);
}

TEST(PublishOutbox, AfterTheLastAttemptItIsKeptFailedSayingHowToPublishAgain) {
  const PublishDestination d = Dest();
  OutboxEntry e = NewOutboxEntry("run-7", d, 0);
  for (int i = 0; i < 3; ++i) e = AfterAttempt(e, absl::UnavailableError("HTTP 500"), &d, i);
  EXPECT_EQ(e.state, v1::PUBLISH_FAILED);
  EXPECT_EQ(e.attempts, 3u);
  EXPECT_THAT(e.last_error, HasSubstr("HTTP 500"));
  EXPECT_THAT(e.last_error, HasSubstr("failoverctl report run-7 --publish wiki"));
}

TEST(PublishOutbox, APublishOlderThanTheMaxAgeFailsEvenWithAttemptsLeft) {
  PublishDestination d = Dest();
  d.attempts = 100;
  d.max_age_s = 2;
  OutboxEntry e = AfterAttempt(NewOutboxEntry("r", d, 0), absl::UnavailableError("x"), &d, 1'500'000);
  EXPECT_EQ(e.state, v1::PUBLISH_FAILED) << "the next attempt (2.5 s) would come after the max age (2 s)";
}

TEST(PublishOutbox, ADestinationRemovedFromTheConfigFailsWithoutAnAttempt) {
  OutboxEntry e = AfterAttempt(NewOutboxEntry("r", Dest(), 0), absl::OkStatus(), nullptr, 5);
  EXPECT_EQ(e.state, v1::PUBLISH_FAILED);
  EXPECT_EQ(e.attempts, 0u);
  EXPECT_THAT(e.last_error, HasSubstr("no longer in the coordinator's publish: list"));
}

TEST(PublishOutbox, ToWireCarriesEveryField) {
  OutboxEntry e = NewOutboxEntry("r", Dest(), 9);
  e.id = 4;
  e.page_url = "https://w/p";
  v1::PublishStatus s = ToWire(e);
  EXPECT_EQ(s.id(), 4);
  EXPECT_EQ(s.destination(), "wiki");
  EXPECT_EQ(s.kind(), "confluence");
  EXPECT_EQ(s.state(), v1::PUBLISH_PENDING);
  EXPECT_EQ(s.page_url(), "https://w/p");
  EXPECT_EQ(s.created_at_unix_us(), 9);
}

}  // namespace
}  // namespace failover::coordinator
