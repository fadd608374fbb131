// A server stream fed by a worker thread, served two ways:
//
// - Serve (sync method handler): the handler thread writes the queue with blocking Writes while
//   `work` runs on its own thread. Use this where latency matters (an agent's step events, a run's
//   events): a blocking Write is completed by the thread that waits for it.
// - Start (callback reactor): the reactor drains the queue one StartWrite at a time. With gRPC 1.51
//   on Linux (no background poller) a write started from the worker thread completes on the
//   callback queue's "nexting" threads, which sometimes miss the wake-up and poll again only after
//   their 100 ms timeout: the next events of the stream then wait ~100 ms (measured: the test
//   bed's per-step tail, and EventStream.AnEventPushedByAWorkerThreadReachesTheReaderAtOnceOverLoopbackTcp).
//
// Either way the worker never blocks on the client (messages queue up), and keeps running when
// the client goes away (a step must finish on the host).
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "failover/worker_pool.h"
#include "grpcpp/grpcpp.h"

namespace failover {

template <typename T>
class EventStream {
 public:
  class Reactor;
  // Shared between the reactor and the worker; outlives whichever ends first.
  class Sink {
   public:
    // Queues a message; dropped silently once the client is gone. A message the client could
    // not read (it does not serialize, or invalid UTF-8 in a string field) ends the stream with
    // INTERNAL naming why, instead of leaving the client waiting; later messages are dropped.
    void Push(T msg) { Queue(std::move(msg), /*last=*/false); }
    // Queues the stream's last message: Serve sends it together with the status (one write and one
    // wake-up of the client fewer per stream: the end of every step and run). Later pushes are
    // dropped. (Start sends it like any other message.)
    void PushLast(T msg) { Queue(std::move(msg), /*last=*/true); }
    // True once the client cancelled or the RPC ended.
    bool cancelled() {
      std::lock_guard<std::mutex> lock(mu_);
      if (serving_) return cancelled_ || ctx_->IsCancelled();
      return cancelled_ || reactor_ == nullptr;
    }

   private:
    friend class EventStream;
    void Queue(T msg, bool last) {
      std::string why = Unserializable(msg);
      std::lock_guard<std::mutex> lock(mu_);
      if ((reactor_ == nullptr && !serving_) || cancelled_ || failed_ || last_queued_) return;
      last_queued_ = last && why.empty();
      if (!why.empty()) {
        failed_ = true;
        done_ = true;
        if (!serving_) queue_.clear();  // Serve still writes what came before the bad message
        final_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "the server could not send an event: " + why);
      } else {
        queue_.push_back(std::move(msg));
      }
      MaybeWriteLocked();
    }
    // "" when `msg` serializes and parses back (proto3 parsing refuses invalid UTF-8 in strings).
    static std::string Unserializable(const T& msg) {
      std::string bytes;
      if (!msg.SerializeToString(&bytes)) return "the message does not serialize";
      T copy;
      if (!copy.ParseFromString(bytes)) return "the message does not parse back (invalid UTF-8 in a string field?)";
      return "";
    }
    void MaybeWriteLocked() {
      if (serving_) {
        wake_.notify_one();
        return;
      }
      if (writing_ || reactor_ == nullptr) return;
      if (!queue_.empty()) {
        writing_ = true;
        current_ = std::move(queue_.front());
        queue_.pop_front();
        reactor_->StartWrite(&current_);
      } else if (done_ && !finished_) {
        finished_ = true;
        reactor_->Finish(final_status_);
      }
    }
    std::mutex mu_;
    Reactor* reactor_ = nullptr;
    std::deque<T> queue_;
    T current_;
    bool writing_ = false;
    bool done_ = false;
    bool finished_ = false;
    bool cancelled_ = false;
    bool failed_ = false;  // a message could not be sent: final_status_ says why
    bool last_queued_ = false;  // PushLast was called: the queue's last message ends the stream
    grpc::Status final_status_;
    // Serve: the handler thread is writing (ctx_ valid); wake_ tells it of new messages or the end.
    bool serving_ = false;
    grpc::ServerContext* ctx_ = nullptr;
    std::condition_variable wake_;
  };

  class Reactor : public grpc::ServerWriteReactor<T> {
   public:
    explicit Reactor(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
    void OnWriteDone(bool ok) override {
      std::lock_guard<std::mutex> lock(sink_->mu_);
      sink_->writing_ = false;
      if (!ok) {
        // Client gone: stop writing, but still Finish so OnDone runs.
        sink_->cancelled_ = true;
        sink_->queue_.clear();
        if (!sink_->finished_) {
          sink_->finished_ = true;
          this->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
        }
        return;
      }
      sink_->MaybeWriteLocked();
    }
    void OnCancel() override {
      std::lock_guard<std::mutex> lock(sink_->mu_);
      sink_->cancelled_ = true;
      sink_->queue_.clear();
      if (!sink_->writing_ && !sink_->finished_) {
        sink_->finished_ = true;
        this->Finish(grpc::Status::CANCELLED);
      }
    }
    void OnDone() override {
      {
        std::lock_guard<std::mutex> lock(sink_->mu_);
        sink_->reactor_ = nullptr;
      }
      delete this;
    }

   private:
    std::shared_ptr<Sink> sink_;
  };

  // Folds `next` into `batch` (e.g. appends it to a repeated field the client unpacks).
  using MergeFn = std::function<void(T* batch, T next)>;
  // At most this many queued messages are folded into the one being written.
  static constexpr int kMaxMerged = 64;

  // For a sync handler: runs `work` on a pool thread and writes what it pushes from this
  // thread until it returns; returns its status (CANCELLED once the client went away, the worker
  // still running; INTERNAL for a message the client could not read). With `merge`, messages that
  // queued up while an earlier one was being written go out as one (nothing waits to be merged).
  static grpc::Status Serve(grpc::ServerContext* ctx, grpc::ServerWriter<T>* writer,
                            std::function<grpc::Status(Sink&)> work, MergeFn merge = nullptr) {
    auto sink = std::make_shared<Sink>();
    sink->serving_ = true;
    sink->ctx_ = ctx;
    RunWorker(sink, std::move(work));
    std::unique_lock<std::mutex> lock(sink->mu_);
    for (;;) {
      sink->wake_.wait(lock, [&] { return !sink->queue_.empty() || sink->done_; });
      if (sink->queue_.empty()) break;
      T msg = std::move(sink->queue_.front());
      sink->queue_.pop_front();
      for (int n = 0; merge && n < kMaxMerged && !sink->queue_.empty(); ++n) {
        merge(&msg, std::move(sink->queue_.front()));
        sink->queue_.pop_front();
      }
      // The last message goes out with the status once `work` returns; nothing is written after it.
      const bool last = sink->queue_.empty() && sink->last_queued_;
      lock.unlock();
      bool ok = true;  // WriteLast says nothing: the status is sent (or not) when the handler returns
      if (last) writer->WriteLast(msg, grpc::WriteOptions());
      else ok = writer->Write(msg);
      lock.lock();
      if (!ok) {
        sink->cancelled_ = true;
        sink->queue_.clear();
        sink->final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
        break;
      }
    }
    sink->serving_ = false;  // ctx is about to go: later pushes are dropped
    return sink->final_status_;
  }

  // Starts `work` on a pool thread (failover/worker_pool.h); it pushes messages to the sink and returns the final status.
  static grpc::ServerWriteReactor<T>* Start(std::function<grpc::Status(Sink&)> work) {
    auto sink = std::make_shared<Sink>();
    auto* reactor = new Reactor(sink);
    {
      std::lock_guard<std::mutex> lock(sink->mu_);
      sink->reactor_ = reactor;
    }
    RunWorker(sink, std::move(work));
    return reactor;
  }

  // Finishes immediately with an error (validation failures before any work).
  // (Serve's callers return the error instead.)
  static grpc::ServerWriteReactor<T>* Fail(grpc::Status status) {
    return Start([status](Sink&) { return status; });
  }

 private:
  static void RunWorker(std::shared_ptr<Sink> sink, std::function<grpc::Status(Sink&)> work) {
    WorkerPool::Shared().Run([sink, work = std::move(work)] {
      grpc::Status status = work(*sink);
      std::lock_guard<std::mutex> lock(sink->mu_);
      sink->done_ = true;
      if (!sink->failed_ && !sink->cancelled_) sink->final_status_ = status;
      sink->MaybeWriteLocked();
    });
  }
};

// absl::Status -> grpc::Status with the same code.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace failover
