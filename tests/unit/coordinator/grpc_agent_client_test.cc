// GrpcAgentClient against a real gRPC agent server on loopback (plaintext): what it asks of the
// agent and how it hands a step's events to its caller.
#include "coordinator/grpc_agent_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "coordinator/agent_client_factory.h"
#include "failover/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "loopback_server.h"

namespace failover::coordinator {
namespace {

v1::AgentEvent Event(v1::AgentEvent::Kind kind) {
  v1::AgentEvent e;
  e.set_kind(kind);
  e.set_message(v1::AgentEvent::Kind_Name(kind));
  return e;
}

// Sends a step's five events in two messages, as an agent does when they queue up behind a write.
class BatchingAgent final : public v1::Agent::Service {
 public:
  std::atomic<bool> asked_for_batches{false};
  grpc::Status Execute(grpc::ServerContext*, const v1::ExecuteRequest* req,
                       grpc::ServerWriter<v1::AgentEvent>* w) override {
    asked_for_batches = req->batch_events();
    v1::AgentEvent first = Event(v1::AgentEvent::INITIAL_STATE);
    *first.add_more() = Event(v1::AgentEvent::JOB_ISSUED);
    *first.add_more() = Event(v1::AgentEvent::JOB_DONE);
    v1::AgentEvent last = Event(v1::AgentEvent::FINAL_STATE);
    *last.add_more() = Event(v1::AgentEvent::STEP_DONE);
    w->Write(first);
    w->Write(last);
    return grpc::Status::OK;
  }
};

TEST(GrpcAgentClient, AsksForBatchedEventsAndHandsThemOverOneByOneInOrder) {
  BatchingAgent agent;
  failover::testing::LoopbackServer server(&agent);
  ASSERT_NE(server.port(), 0);
  Config config;
  config.insecure_plaintext = true;
  config.defaults.call_timeout_ms = 3000;
  config.hosts.push_back({"h1", server.address(), {"a.service"}});
  GrpcAgentClientFactory factory;
  auto client = factory.Create(config, config.hosts[0]);
  ASSERT_TRUE(client.ok()) << client.status();
  std::vector<std::string> seen;
  absl::Status s = (*client)->Execute(
      v1::ExecuteRequest(),
      [&](const v1::AgentEvent& e) {
        seen.push_back(e.message());
        EXPECT_EQ(e.more_size(), 0) << "the caller gets single events";
      },
      std::chrono::seconds(5));
  EXPECT_TRUE(s.ok()) << s << " (STEP_DONE came inside a batch)";
  EXPECT_TRUE(agent.asked_for_batches);
  EXPECT_EQ(seen, (std::vector<std::string>{"INITIAL_STATE", "JOB_ISSUED", "JOB_DONE", "FINAL_STATE", "STEP_DONE"}));
}

}  // namespace
}  // namespace failover::coordinator
