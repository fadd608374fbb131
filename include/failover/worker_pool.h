// Threads kept for the short jobs both services hand off all the time: a step's worker, a read
// beside a probe, a unary RPC's work, a fan-out to every host. Starting a thread took 0.4-0.5 ms
// inside the agent and the coordinator (traced on the test bed: std::async before a gate probe,
// EventStream's worker, ForEachParallel's calls issued 0.5-1.3 ms apart); a kept thread that waits
// takes a job in microseconds.
//
// Contract: Run never waits for a thread to be free. A job that finds no idle thread gets a new
// one, so a job that blocks (a hung systemd, a host that does not answer) delays no other job.
// Threads go back to waiting when their job ends; beyond `max_idle` waiting threads they end, and
// a thread that waited `idle_timeout` for a job ends (an idle daemon keeps no stacks, no wake-ups).
// Threads are detached (jobs may outlive whoever submitted them, as a step outlives its RPC);
// Shared() is never destroyed, so a job may run while the process exits.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <type_traits>
#include <vector>

namespace failover {

// A pool job's result. Like std::async's future, destroying it (or assigning over it) waits for
// the job: a job that refers to its caller's frame never outlives it, also when an exception
// unwinds that frame.
template <typename T>
class Task {
 public:
  Task() = default;
  explicit Task(std::future<T> f) : f_(std::move(f)) {}
  Task(Task&&) noexcept = default;
  Task& operator=(Task&& other) noexcept {
    Wait();
    f_ = std::move(other.f_);
    return *this;
  }
  ~Task() { Wait(); }
  T get() { return f_.get(); }
  bool valid() const { return f_.valid(); }
  void wait() const { f_.wait(); }
  template <typename Rep, typename Period>
  std::future_status wait_for(const std::chrono::duration<Rep, Period>& d) const {
    return f_.wait_for(d);
  }

 private:
  void Wait() {
    if (f_.valid()) f_.wait();
  }
  std::future<T> f_;
};

class WorkerPool {
 public:
  explicit WorkerPool(size_t max_idle,
                      std::chrono::milliseconds idle_timeout = std::chrono::seconds(20));
  // Waiting threads end; jobs still running finish on their threads.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // The process's pool (16 idle threads at most, each for 20 s); never destroyed.
  static WorkerPool& Shared();

  // Runs `job` on a waiting thread, or a new one when none waits.
  void Run(std::function<void()> job);

  // Run, with the job's result (or exception) in a Task that waits for the job when dropped.
  template <typename F>
  auto Async(F f) -> Task<std::invoke_result_t<F>> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(f));
    Task<R> result(task->get_future());
    Run([task] { (*task)(); });
    return result;
  }

  // Threads started so far, and threads waiting now (for tests and benchmarks).
  size_t threads_started() const;
  size_t idle() const;

 private:
  struct State {
    mutable std::mutex mu;
    std::condition_variable wake;
    std::deque<std::function<void()>> jobs;
    size_t idle = 0;
    size_t started = 0;
    size_t max_idle = 0;
    std::chrono::milliseconds idle_timeout{0};
    bool closing = false;
  };
  static void Loop(std::shared_ptr<State> state, std::function<void()> first);
  std::shared_ptr<State> state_;  // shared with the threads: they may outlive a pool object
};

// Calls fn(i) for every i in [0, n) on up to `max_threads` threads at once (this one and the
// shared pool's); returns when every call has ended, then rethrows the first exception, if any.
template <typename Fn>
void ParallelFor(size_t n, Fn fn, size_t max_threads = SIZE_MAX) {
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<Task<void>> helpers;
  const size_t workers = std::min(n, max_threads);
  for (size_t w = 1; w < workers; ++w) helpers.push_back(WorkerPool::Shared().Async(worker));
  if (workers > 0) worker();  // this thread works too
  for (auto& h : helpers) h.get();
}

}  // namespace failover
