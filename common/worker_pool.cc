#include "failover/worker_pool.h"

#include <algorithm>
#include <thread>
#include <utility>

namespace failover {

WorkerPool::WorkerPool(size_t max_idle, std::chrono::milliseconds idle_timeout) : state_(std::make_shared<State>()) {
  state_->max_idle = max_idle;
  state_->idle_timeout = idle_timeout;
}

WorkerPool::~WorkerPool() {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->closing = true;  // waiting threads end; running jobs finish first
  state_->wake.notify_all();
}

WorkerPool& WorkerPool::Shared() {
  static WorkerPool* pool = new WorkerPool(16);  // leaked: detached threads may use it at exit
  return *pool;
}

void WorkerPool::Run(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    // Only as many queued jobs as waiting threads: each queued job has a thread about to take it.
    if (state_->jobs.size() < state_->idle) {
      state_->jobs.push_back(std::move(job));
      state_->wake.notify_one();
      return;
    }
    ++state_->started;
  }
  std::thread(Loop, state_, std::move(job)).detach();
}

void WorkerPool::Loop(std::shared_ptr<State> state, std::function<void()> job) {
  for (;;) {
    job();
    job = nullptr;  // what the job captured goes now, not when the next one comes
    std::unique_lock<std::mutex> lock(state->mu);
    if (state->idle >= state->max_idle) return;
    ++state->idle;
    state->wake.wait_for(lock, state->idle_timeout, [&] { return !state->jobs.empty() || state->closing; });
    --state->idle;
    if (state->jobs.empty()) return;  // waited idle_timeout for nothing, or the pool closed
    job = std::move(state->jobs.front());
    state->jobs.pop_front();
  }
}

size_t WorkerPool::threads_started() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->started;
}

size_t WorkerPool::idle() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->idle - std::min(state_->idle, state_->jobs.size());
}

}  // namespace failover
