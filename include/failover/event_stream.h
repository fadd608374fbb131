// A server-streaming callback reactor fed by a worker thread.
//
// gRPC's callback API allows one StartWrite in flight and no blocking inside reactions, so
// blocking work (D-Bus jobs, probes, whole runs) runs on its own thread and pushes messages
// here; the reactor drains the queue one write at a time and finishes once the worker is done.
// The worker keeps running when the client goes away (a step must finish on the host).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
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
    void Push(T msg) {
      std::string why = Unserializable(msg);
      std::lock_guard<std::mutex> lock(mu_);
      if (reactor_ == nullptr || cancelled_ || failed_) return;
      if (!why.empty()) {
        failed_ = true;
        done_ = true;
        queue_.clear();
        final_status_ = grpc::Status(grpc::StatusCode::INTERNAL, "the server could not send an event: " + why);
      } else {
        queue_.push_back(std::move(msg));
      }
      MaybeWriteLocked();
    }
    // True once the client cancelled or the RPC ended.
    bool cancelled() {
      std::lock_guard<std::mutex> lock(mu_);
      return cancelled_ || reactor_ == nullptr;
    }

   private:
    friend class EventStream;
    // "" when `msg` serializes and parses back (proto3 parsing refuses invalid UTF-8 in strings).
    static std::string Unserializable(const T& msg) {
      std::string bytes;
      if (!msg.SerializeToString(&bytes)) return "the message does not serialize";
      T copy;
      if (!copy.ParseFromString(bytes)) return "the message does not parse back (invalid UTF-8 in a string field?)";
      return "";
    }
    void MaybeWriteLocked() {
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
    grpc::Status final_status_;
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

  // Starts `work` on a detached thread; it pushes messages to the sink and returns the final status.
  static grpc::ServerWriteReactor<T>* Start(std::function<grpc::Status(Sink&)> work) {
    auto sink = std::make_shared<Sink>();
    auto* reactor = new Reactor(sink);
    {
      std::lock_guard<std::mutex> lock(sink->mu_);
      sink->reactor_ = reactor;
    }
    std::thread([sink, work = std::move(work)] {
      grpc::Status status = work(*sink);
      std::lock_guard<std::mutex> lock(sink->mu_);
      sink->done_ = true;
      if (!sink->failed_) sink->final_status_ = status;
      sink->MaybeWriteLocked();
    }).detach();
    return reactor;
  }

  // Finishes immediately with an error (validation failures before any work).
  static grpc::ServerWriteReactor<T>* Fail(grpc::Status status) {
    return Start([status](Sink&) { return status; });
  }
};

// absl::Status -> grpc::Status with the same code.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

}  // namespace failover
