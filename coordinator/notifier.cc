#include "coordinator/notifier.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::coordinator {
namespace {

constexpr auto kShutdownGrace = std::chrono::seconds(5);

void LogResult(const DeliveryResult& r) {
  auto log = GetLogger("coordinator");
  if (r.status.ok()) {
    log->info("notification {} ({}) delivered after {} attempt(s)", r.notification, r.event, r.attempts);
  } else {
    log->error("notification {} ({}) NOT delivered after {} attempt(s): {}", r.notification, r.event, r.attempts,
               r.status.message());
  }
}

}  // namespace

std::chrono::milliseconds NotifyBackoff(int attempt) {
  const int shift = std::min(std::max(attempt - 2, 0), 4);
  return std::chrono::milliseconds(250 << shift);
}

Notifier::Notifier(WebhookTransport* transport, SleepFn sleep, ResultFn on_result)
    : transport_(transport),
      sleep_(sleep ? std::move(sleep) : [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }),
      on_result_(on_result ? std::move(on_result) : LogResult),
      worker_([this] { Worker(); }) {}

Notifier::~Notifier() {
  WaitIdle(std::chrono::duration_cast<std::chrono::milliseconds>(kShutdownGrace));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (!queue_.empty())
      GetLogger("coordinator")->error("{} notification(s) dropped at shutdown (receiver too slow)", queue_.size());
    queue_.clear();
  }
  cv_.notify_all();
  worker_.join();
}

void Notifier::Post(const NotificationConfig& to, NotifyEvent event, std::string body) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      GetLogger("coordinator")->error("notification queue full ({}): dropping the oldest ({} to {})", kMaxQueued,
                                      NotifyEventName(queue_.front().event), queue_.front().to.name);
      queue_.pop_front();
    }
    queue_.push_back({to, event, std::move(body)});
  }
  cv_.notify_all();
}

bool Notifier::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

void Notifier::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Item item = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    DeliveryResult r = Deliver(item);
    on_result_(r);
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

DeliveryResult Notifier::Deliver(const Item& item) {
  DeliveryResult r{item.to.name, NotifyEventName(item.event), 0, absl::OkStatus()};
  const int attempts = std::max<int>(1, item.to.attempts);
  for (int n = 1; n <= attempts; ++n) {
    if (n > 1) sleep_(NotifyBackoff(n));
    r.attempts = n;
    r.status = transport_->Post(item.to.url, item.body, item.to.timeout_ms);
    if (r.status.ok()) break;
  }
  return r;
}

}  // namespace failover::coordinator
