#include "failover/worker_pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "eventually.h"

namespace failover {
namespace {

TEST(WorkerPool, AThreadWhoseJobEndedTakesTheNextJobInsteadOfANewThread) {
  WorkerPool pool(4);
  std::thread::id first, second;
  pool.Async([&] { first = std::this_thread::get_id(); }).get();
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 1; }));
  pool.Async([&] { second = std::this_thread::get_id(); }).get();
  EXPECT_EQ(first, second);
  EXPECT_EQ(pool.threads_started(), 1u);
}

TEST(WorkerPool, AJobThatBlocksDelaysNoOtherJob) {
  WorkerPool pool(4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto blocked = pool.Async([released] { released.wait_for(std::chrono::seconds(10)); });
  // With the only thread busy, the next job gets a thread of its own and ends first.
  auto quick = pool.Async([] { return 7; });
  ASSERT_EQ(quick.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(quick.get(), 7);
  EXPECT_EQ(blocked.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  release.set_value();
  blocked.get();
  EXPECT_EQ(pool.threads_started(), 2u);
}

TEST(WorkerPool, ThreadsBeyondMaxIdleEndWhenTheirJobsEnd) {
  WorkerPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<Task<void>> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(pool.Async([released] { released.wait_for(std::chrono::seconds(10)); }));
  release.set_value();
  for (auto& j : jobs) j.get();
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(pool.idle(), 1u) << "only max_idle threads stay";
  EXPECT_EQ(pool.threads_started(), 3u);
}

TEST(WorkerPool, AThreadThatWaitedItsIdleTimeoutForAJobEnds) {
  // 1 s idle timeout: the test sees the thread waiting again even when it is itself held up a while.
  WorkerPool pool(4, std::chrono::milliseconds(1000));
  pool.Async([] {}).get();
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 1; }));
  pool.Async([] {}).get();  // well within the timeout: the same thread
  EXPECT_EQ(pool.threads_started(), 1u);
  // Waiting again first (the job's result comes before its thread goes back to wait: checking
  // only idle() == 0 could pass before that, and the next job then found the same thread).
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 1; }));
  ASSERT_TRUE(Eventually([&] { return pool.threads_started() == 1 && pool.idle() == 0; }))
      << "still waiting long after its idle timeout";
  EXPECT_EQ(pool.Async([] { return 2; }).get(), 2);
  EXPECT_EQ(pool.threads_started(), 2u) << "the next job got a new thread";
}

TEST(WorkerPool, DroppingATaskWaitsForItsJobLikeStdAsync) {
  WorkerPool pool(2);
  std::atomic<bool> done{false};
  {
    auto task = pool.Async([&done] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      done = true;  // `done` is this frame's: the Task must not let the job outlive it
    });
  }
  EXPECT_TRUE(done.load());
}

TEST(WorkerPool, AsyncCarriesTheJobsExceptionToItsFuture) {
  WorkerPool pool(2);
  auto f = pool.Async([]() -> int { throw std::runtime_error("read failed"); });
  EXPECT_THROW(f.get(), std::runtime_error);
  // The thread survived its job's exception and takes the next one.
  ASSERT_TRUE(Eventually([&] { return pool.idle() == 1; }));
  EXPECT_EQ(pool.Async([] { return 1; }).get(), 1);
  EXPECT_EQ(pool.threads_started(), 1u);
}

TEST(WorkerPool, ManyJobsAtOnceAllRunAndOnlyMaxIdleThreadsWaitAfterwards) {
  WorkerPool pool(3);
  std::atomic<int> ran{0};
  std::vector<Task<void>> jobs;
  for (int i = 0; i < 50; ++i) jobs.push_back(pool.Async([&] { ++ran; }));
  for (auto& j : jobs) j.get();
  EXPECT_EQ(ran.load(), 50);
  ASSERT_TRUE(Eventually([&] { return pool.idle() >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_LE(pool.idle(), 3u) << "no more than max_idle threads wait";
}

TEST(ParallelFor, CallsEveryIndexOnceWithAtMostMaxThreadsAtOnce) {
  std::vector<std::atomic<int>> calls(40);
  std::atomic<int> running{0}, most{0};
  ParallelFor(calls.size(), [&](size_t i) {
    const int now = ++running;
    for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {}
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ++calls[i];
    --running;
  }, 4);
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i].load(), 1) << i;
  EXPECT_LE(most.load(), 4);
  EXPECT_GE(most.load(), 2) << "more than one thread worked";
}

TEST(ParallelFor, RethrowsAJobsExceptionOnlyAfterEveryCallEnded) {
  std::atomic<int> ended{0};
  EXPECT_THROW(ParallelFor(8, [&](size_t i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ++ended;
    if (i == 0) throw std::runtime_error("host 0 failed");
  }), std::runtime_error);
  EXPECT_EQ(ended.load(), 8) << "the other calls were not left running";
}

}  // namespace
}  // namespace failover
