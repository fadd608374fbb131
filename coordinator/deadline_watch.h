// Calls `fire` once at wall-clock time `at`, unless destroyed first (pure; one thread). The
// coordinator uses it to stop a run when its maintenance window ends.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace failover::coordinator {

class DeadlineWatch {
 public:
  DeadlineWatch(absl::Time at, std::function<void()> fire);
  ~DeadlineWatch();  // cancels a watch that has not fired; waits for one that is firing
  DeadlineWatch(const DeadlineWatch&) = delete;
  DeadlineWatch& operator=(const DeadlineWatch&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::thread thread_;
};

}  // namespace failover::coordinator
