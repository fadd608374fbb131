#include "coordinator/publish_outbox.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace failover::coordinator {

OutboxEntry NewOutboxEntry(const std::string& run_id, const PublishDestination& d, int64_t now_us) {
  OutboxEntry e;
  e.run_id = run_id;
  e.destination = d.name;
  e.kind = PublishKindName(d.kind);
  e.state = v1::PUBLISH_PENDING;
  e.created_unix_us = now_us;
  e.updated_unix_us = now_us;
  e.next_attempt_unix_us = now_us;
  return e;
}

int64_t PublishBackoffUs(const PublishDestination& d, uint32_t failed_attempts) {
  constexpr int64_t kMaxUs = 300'000'000;
  int64_t us = static_cast<int64_t>(d.retry_ms) * 1000;
  for (uint32_t i = 1; i < failed_attempts && us < kMaxUs; ++i) us *= 2;
  return std::min(us, kMaxUs);
}

OutboxEntry AfterAttempt(OutboxEntry e, const absl::Status& result, const PublishDestination* d, int64_t now_us) {
  e.updated_unix_us = now_us;
  if (d == nullptr) {
    e.state = v1::PUBLISH_FAILED;
    e.last_error = absl::StrCat("destination \"", e.destination,
                                "\" is no longer in the coordinator's publish: list; nothing sent");
    e.next_attempt_unix_us = 0;
    return e;
  }
  ++e.attempts;
  if (result.ok()) {
    e.state = v1::PUBLISH_DELIVERED;
    e.last_error.clear();
    e.next_attempt_unix_us = 0;
    return e;
  }
  e.last_error = std::string(result.message());
  const int64_t next = now_us + PublishBackoffUs(*d, e.attempts);
  const int64_t deadline = e.created_unix_us + static_cast<int64_t>(d->max_age_s) * 1'000'000;
  if (e.attempts >= d->attempts || next > deadline) {
    e.state = v1::PUBLISH_FAILED;
    e.last_error = absl::StrCat(e.last_error, " (gave up after ", e.attempts, " attempt(s); the report stays in ",
                                "the history: publish it again with failoverctl report ", e.run_id, " --publish ",
                                e.destination, ")");
    e.next_attempt_unix_us = 0;
    return e;
  }
  e.state = v1::PUBLISH_PENDING;
  e.next_attempt_unix_us = next;
  return e;
}

v1::PublishStatus ToWire(const OutboxEntry& e) {
  v1::PublishStatus s;
  s.set_id(e.id);
  s.set_run_id(e.run_id);
  s.set_destination(e.destination);
  s.set_kind(e.kind);
  s.set_state(e.state);
  s.set_attempts(e.attempts);
  s.set_last_error(e.last_error);
  s.set_page_id(e.page_id);
  s.set_page_url(e.page_url);
  s.set_created_at_unix_us(e.created_unix_us);
  s.set_updated_at_unix_us(e.updated_unix_us);
  s.set_next_attempt_unix_us(e.next_attempt_unix_us);
  return s;
}

}  // namespace failover::coordinator
