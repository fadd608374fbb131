// What a channel the coordinator keeps to an agent between runs costs while idle: nothing on the
// wire. Measured through a byte-counting TCP relay on loopback between the channel and a real gRPC
// server: after a call, an idle channel must send no keepalive pings (the stream of a step still
// does; the pings of a kept idle channel woke every agent and the coordinator every 2 s, issue 11).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "coordinator/agent_client_factory.h"
#include "failover/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "loopback_server.h"

namespace failover::coordinator {
namespace {

class StateAgent final : public v1::Agent::CallbackService {
  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext* ctx, const v1::GetStateRequest*,
                                     v1::GetStateResponse* resp) override {
    resp->set_host("h1");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

int ListenOnLoopback(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(fd, 4) != 0) return -1;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// Accepts one connection on its own port and relays it to `target_port`, counting the bytes the
// client sends.
class CountingRelay {
 public:
  explicit CountingRelay(int target_port) : target_port_(target_port) {
    listen_fd_ = ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Run(); });
  }
  ~CountingRelay() {
    stop_ = true;
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  long client_bytes() const { return client_bytes_; }

 private:
  void Run() {
    pollfd l{listen_fd_, POLLIN, 0};
    while (!stop_ && poll(&l, 1, 50) <= 0) {}
    if (stop_) return;
    int c = accept(listen_fd_, nullptr, nullptr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(target_port_);
    connect(s, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    pollfd fds[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
    char buf[16384];
    while (!stop_) {
      if (poll(fds, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) stop_ = true;
        if (n <= 0) break;
        if (i == 0) client_bytes_ += n;
        if (write(fds[1 - i].fd, buf, n) != n) stop_ = true;
      }
    }
    close(c);
    close(s);
  }

  int target_port_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<long> client_bytes_{0};
  std::thread thread_;
};

TEST(AgentChannel, AKeptChannelSendsNothingWhileIdle) {
  StateAgent service;
  failover::testing::LoopbackServer server(&service);
  ASSERT_NE(server.port(), 0);
  CountingRelay relay(server.port());
  Config config;
  config.insecure_plaintext = true;
  config.defaults.call_timeout_ms = 3000;
  config.hosts.push_back({"h1", "127.0.0.1:" + std::to_string(relay.port()), {"a.service"}});
  GrpcAgentClientFactory factory;
  auto client = factory.Create(config, config.hosts[0]);
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->GetState(v1::GetStateRequest()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the call's last frames
  const long after_call = relay.client_bytes();
  ASSERT_GT(after_call, 0);
  // Keepalive is 2 s (DefaultChannelArguments): 4.5 s would carry two pings of 17 bytes each.
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  EXPECT_EQ(relay.client_bytes(), after_call) << "the idle channel sent " << relay.client_bytes() - after_call
                                              << " bytes (keepalive pings?)";
}

}  // namespace
}  // namespace failover::coordinator
