#include "coordinator/agent_client_factory.h"

#include "common/probe_runner.h"
#include "coordinator/grpc_agent_client.h"
#include "failover/clock.h"

namespace failover::coordinator {

absl::StatusOr<std::unique_ptr<AgentClient>> GrpcAgentClientFactory::Create(const Config& config,
                                                                           const HostConfig& host) {
  auto c = GrpcAgentClient::Create(config, host);
  if (!c.ok()) return c.status();
  return std::unique_ptr<AgentClient>(std::move(*c));
}

std::unique_ptr<ProbeRunner> CoordinatorProbeRunner(const Config& config) {
  std::map<std::string, std::string> secrets;
  if (!config.health_check.token.empty()) secrets[kHealthCheckSecret] = config.health_check.token;
  return std::make_unique<LocalProbeRunner>("coordinator", secrets, nullptr, RealClock::Get());
}

}  // namespace failover::coordinator
