// Where the coordinator gets its agent clients: gRPC in the binary, in-process fakes in tests.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "coordinator/config.h"
#include "failover/agent_client.h"

namespace failover::coordinator {

class AgentClientFactory {
 public:
  virtual ~AgentClientFactory() = default;
  // A client for `host` built from the config's TLS settings; INVALID_ARGUMENT names what is wrong.
  virtual absl::StatusOr<std::unique_ptr<AgentClient>> Create(const Config& config, const HostConfig& host) = 0;
};

// The production factory: GrpcAgentClient (mTLS channel, deadlines).
class GrpcAgentClientFactory : public AgentClientFactory {
 public:
  absl::StatusOr<std::unique_ptr<AgentClient>> Create(const Config& config, const HostConfig& host) override;
};

}  // namespace failover::coordinator
