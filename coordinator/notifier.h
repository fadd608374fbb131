// Sends run notifications without ever holding up or failing a run: Post() only queues (bounded;
// when full the oldest notice is dropped and logged); one worker thread delivers each notice
// with retries and exponential back-off. A receiver that is down, slow or answers non-2xx costs
// the run nothing: the outcome is logged (URL redacted), never returned to the run.
// Pure: the HTTP POST is behind WebhookTransport (curl_webhook_transport.* is the real one).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "coordinator/notify_config.h"

namespace failover::coordinator {

class WebhookTransport {
 public:
  virtual ~WebhookTransport() = default;
  // POSTs `body` (application/json) to `url`; OK only for a 2xx answer within `timeout_ms`.
  virtual absl::Status Post(const std::string& url, const std::string& body, uint32_t timeout_ms) = 0;
};

struct DeliveryResult {
  std::string notification;  // NotificationConfig::name
  std::string event;
  int attempts = 0;
  absl::Status status;
};

class Notifier {
 public:
  using SleepFn = std::function<void(std::chrono::milliseconds)>;
  using ResultFn = std::function<void(const DeliveryResult&)>;
  static constexpr size_t kMaxQueued = 256;

  // `sleep` waits between attempts (tests pass one that does not); `on_result` sees every
  // delivery's end (logging by default).
  Notifier(WebhookTransport* transport, SleepFn sleep = nullptr, ResultFn on_result = nullptr);
  ~Notifier();  // delivers what is queued for at most kShutdownGrace, then drops the rest (logged)
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  void Post(const NotificationConfig& to, NotifyEvent event, std::string body);
  // Waits until the queue is empty and no delivery is in flight, or `timeout` passes.
  bool WaitIdle(std::chrono::milliseconds timeout);

 private:
  struct Item {
    NotificationConfig to;
    NotifyEvent event;
    std::string body;
  };
  void Worker();
  DeliveryResult Deliver(const Item& item);

  WebhookTransport* transport_;
  SleepFn sleep_;
  ResultFn on_result_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread worker_;
};

// Back-off before attempt `n` (1-based, n >= 2): 250 ms * 2^(n-2), at most 4 s.
std::chrono::milliseconds NotifyBackoff(int attempt);

}  // namespace failover::coordinator
