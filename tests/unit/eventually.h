// Eventually(pred): polls `pred` every millisecond for up to 5 s; for tests of threads that act on
// their own time (a pool's idle threads, a reader's drain).
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace failover {

inline bool Eventually(const std::function<bool()>& pred) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace failover
