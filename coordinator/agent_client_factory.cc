#include "coordinator/agent_client_factory.h"

#include "coordinator/grpc_agent_client.h"

namespace failover::coordinator {

absl::StatusOr<std::unique_ptr<AgentClient>> GrpcAgentClientFactory::Create(const Config& config,
                                                                           const HostConfig& host) {
  auto c = GrpcAgentClient::Create(config, host);
  if (!c.ok()) return c.status();
  return std::unique_ptr<AgentClient>(std::move(*c));
}

}  // namespace failover::coordinator
