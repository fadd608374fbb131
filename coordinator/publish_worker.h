// Publishes reports from the history's outbox, never losing one: Enqueue records the publish
// (PENDING) before anything is sent; one worker thread attempts every due entry, saving progress
// after each request (a Notion page is created once, its remaining blocks appended on a retry),
// and retries with back-off until delivered or the destination's limits (then FAILED, kept).
// Entries left PENDING by an earlier coordinator are picked up at Start(). Pure: HTTP is behind
// PublishTransport (publish_curl_transport.* is the real one); destinations come from the
// coordinator's own config, by name.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/history_store.h"
#include "coordinator/publish_body.h"
#include "coordinator/publish_config.h"
#include "coordinator/publish_outbox.h"
#include "failover/clock.h"

namespace failover::coordinator {

struct HttpAnswer {
  long status = 0;
  std::string body;  // at most 1 MiB
};

class PublishTransport {
 public:
  virtual ~PublishTransport() = default;
  // Sends `request`; the answer whatever its status. An error only when no HTTP answer came
  // (connection refused, timeout); it names the host, never a header.
  virtual absl::StatusOr<HttpAnswer> Send(const HttpRequest& request, uint32_t timeout_ms) = 0;
};

class Publisher {
 public:
  using DestinationsFn = std::function<std::vector<PublishDestination>()>;
  Publisher(HistoryStore* history, DestinationsFn destinations, PublishTransport* transport, Clock* clock);
  ~Publisher();  // stops the worker after its current request
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void Start();
  // Records a publish of `run_id`'s report to `d` and wakes the worker.
  absl::StatusOr<OutboxEntry> Enqueue(const std::string& run_id, const PublishDestination& d);
  // The entry once it has had an attempt (or is no longer pending), or as it is after `timeout`.
  absl::StatusOr<OutboxEntry> WaitFirstAttempt(int64_t id, std::chrono::milliseconds timeout);
  // Attempts every due entry once (the worker's pass; tests call it directly).
  void RunDue();
  // A caller's publish request: `destination` must be one of the configured names (else
  // INVALID_ARGUMENT naming them, audited with `who`), `run_id` ("" = latest) in the history.
  // Enqueues it and waits up to `wait` for the first attempt.
  absl::StatusOr<OutboxEntry> Request(const std::string& run_id, const std::string& destination, const std::string& who,
                                      std::chrono::milliseconds wait);

  // How long the worker sleeps after a pass: until the earliest pending publish is due (at most
  // a minute; nothing pending = the minute). Enqueue wakes it sooner.
  std::chrono::milliseconds UntilNextDue();

 private:
  void Worker();
  absl::Status Attempt(const PublishDestination& d, OutboxEntry* e);
  absl::Status AttemptNotion(const PublishDestination& d, const v1::Report& r, const std::string& md, OutboxEntry* e);
  absl::StatusOr<std::string> Send(const PublishDestination& d, const HttpRequest& req);

  HistoryStore* history_;
  DestinationsFn destinations_;
  PublishTransport* transport_;
  Clock* clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;
  bool stopping_ = false;
  // Attempts recorded in the outbox so far (WaitFirstAttempt waits for it to move).
  std::condition_variable attempted_cv_;
  uint64_t attempts_recorded_ = 0;
  std::thread worker_;
};

}  // namespace failover::coordinator
