// The channel cache of GrpcAgentClientFactory against a real gRPC server on loopback (plaintext:
// the cache, not TLS, is under test here; the e2e suites run it with mTLS).
#include "coordinator/agent_client_factory.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "failover/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace failover::coordinator {
namespace {

// Answers GetState and remembers which connections (peer address:port) the calls came on.
class PeerRecordingAgent final : public v1::Agent::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext* ctx, const v1::GetStateRequest*,
                                     v1::GetStateResponse* resp) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      peers_.insert(ctx->peer());
    }
    resp->set_host("h1");
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  size_t connections() {
    std::lock_guard<std::mutex> lock(mu_);
    return peers_.size();
  }

 private:
  std::mutex mu_;
  std::set<std::string> peers_;
};

struct Server {
  PeerRecordingAgent service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  void Start(int want_port) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:" + std::to_string(want_port), grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&service);
    server = b.BuildAndStart();
  }
  void Stop() { server->Shutdown(std::chrono::system_clock::now()); server->Wait(); server.reset(); }
};

Config PlaintextConfig(int port) {
  Config c;
  c.insecure_plaintext = true;
  c.defaults.call_timeout_ms = 3000;
  c.hosts.push_back({"h1", "127.0.0.1:" + std::to_string(port), {"a.service"}});
  return c;
}

TEST(GrpcAgentClientFactory, UsesOneConnectionPerAgentAcrossRuns) {
  Server s;
  s.Start(0);
  ASSERT_NE(s.port, 0);
  const Config config = PlaintextConfig(s.port);
  GrpcAgentClientFactory factory;
  for (int run = 0; run < 3; ++run) {
    auto client = factory.Create(config, config.hosts[0]);
    ASSERT_TRUE(client.ok()) << client.status();
    auto st = (*client)->GetState(v1::GetStateRequest());
    ASSERT_TRUE(st.ok()) << st.status();
  }
  EXPECT_EQ(factory.channels_made(), 1);
  EXPECT_EQ(s.service.connections(), 1u);
  s.Stop();
}

TEST(GrpcAgentClientFactory, ReconnectsWhenTheAgentRestartsBetweenRuns) {
  Server first;
  first.Start(0);
  const int port = first.port;
  const Config config = PlaintextConfig(port);
  GrpcAgentClientFactory factory;
  auto before = factory.Create(config, config.hosts[0]);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE((*before)->GetState(v1::GetStateRequest()).ok());
  first.Stop();  // the agent restarts: its connection is gone
  Server second;
  second.Start(port);
  ASSERT_EQ(second.port, port);
  auto after = factory.Create(config, config.hosts[0]);
  ASSERT_TRUE(after.ok());
  auto st = (*after)->GetState(v1::GetStateRequest());
  EXPECT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(second.service.connections(), 1u);
  second.Stop();
}

TEST(GrpcAgentClientFactory, AnUnreachableAgentIsStillReportedUnavailable) {
  Server s;
  s.Start(0);
  const int port = s.port;
  const Config config = PlaintextConfig(port);
  GrpcAgentClientFactory factory;
  auto client = factory.Create(config, config.hosts[0]);
  ASSERT_TRUE((*client)->GetState(v1::GetStateRequest()).ok());
  s.Stop();  // and nothing listens any more: the retry on a fresh connection fails too
  auto again = factory.Create(config, config.hosts[0]);
  auto st = (*again)->GetState(v1::GetStateRequest());
  EXPECT_EQ(st.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(st.status().message().find("host h1"), std::string::npos) << st.status();
}

TEST(GrpcAgentClientFactory, MakesANewChannelWhenTheHostMovesToAnotherAddress) {
  Server a, b;
  a.Start(0);
  b.Start(0);
  Config config = PlaintextConfig(a.port);
  GrpcAgentClientFactory factory;
  ASSERT_TRUE((*factory.Create(config, config.hosts[0]))->GetState(v1::GetStateRequest()).ok());
  config.hosts[0].agent = "127.0.0.1:" + std::to_string(b.port);
  ASSERT_TRUE((*factory.Create(config, config.hosts[0]))->GetState(v1::GetStateRequest()).ok());
  EXPECT_EQ(factory.channels_made(), 2);
  EXPECT_EQ(b.service.connections(), 1u);
  a.Stop();
  b.Stop();
}

TEST(AgentChannelKey, ChangesWithTheCertificateFile) {
  const std::string dir = ::testing::TempDir();
  const std::string cert = dir + "/key_test_cert.pem";
  { std::FILE* f = std::fopen(cert.c_str(), "w"); std::fputs("one", f); std::fclose(f); }
  Config config = PlaintextConfig(1);
  config.insecure_plaintext = false;
  config.tls.cert_file = cert;
  const std::string before = AgentChannelKey(config, config.hosts[0]);
  { std::FILE* f = std::fopen(cert.c_str(), "w"); std::fputs("a rotated certificate", f); std::fclose(f); }
  EXPECT_NE(AgentChannelKey(config, config.hosts[0]), before);
}

}  // namespace
}  // namespace failover::coordinator
