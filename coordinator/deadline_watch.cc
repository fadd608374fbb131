#include "coordinator/deadline_watch.h"

namespace failover::coordinator {

DeadlineWatch::DeadlineWatch(absl::Time at, std::function<void()> fire)
    : thread_([this, at, fire = std::move(fire)] {
        std::unique_lock<std::mutex> lock(mu_);
        if (cv_.wait_until(lock, absl::ToChronoTime(at), [this] { return cancelled_; })) return;
        lock.unlock();
        fire();
      }) {}

DeadlineWatch::~DeadlineWatch() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace failover::coordinator
