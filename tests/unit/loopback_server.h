// A plaintext gRPC server on 127.0.0.1 (a free port) serving one service, for tests that need the
// real transport (TCP, HTTP/2 framing, keepalive) rather than an in-process channel. Shut down
// when it goes out of scope.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"

namespace failover::testing {

class LoopbackServer {
 public:
  // `tune`: more server settings (e.g. channel arguments) before it starts.
  explicit LoopbackServer(grpc::Service* service, const std::function<void(grpc::ServerBuilder&)>& tune = nullptr) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    if (tune) tune(builder);
    builder.RegisterService(service);
    server_ = builder.BuildAndStart();
  }
  ~LoopbackServer() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;

  // 0 when the server did not start.
  int port() const { return server_ ? port_ : 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::shared_ptr<grpc::Channel> Channel(const grpc::ChannelArguments& args = grpc::ChannelArguments()) const {
    return grpc::CreateCustomChannel(address(), grpc::InsecureChannelCredentials(), args);
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace failover::testing
