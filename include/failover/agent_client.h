// The coordinator's view of one agent. The gRPC implementation lives in coordinator/;
// unit tests of the executor use a fake.
#pragma once

#include <chrono>
#include <functional>

#include "absl/status/statusor.h"
#include "failover/v1/agent.pb.h"

namespace failover {

class AgentClient {
 public:
  virtual ~AgentClient() = default;
  virtual absl::StatusOr<v1::GetStateResponse> GetState(const v1::GetStateRequest& req) = 0;
  // Streams the step's events to `on_event` as they arrive. Returns the stream's final status:
  // OK after STEP_DONE; UNAVAILABLE/DEADLINE_EXCEEDED when the agent or the network went away.
  virtual absl::Status Execute(const v1::ExecuteRequest& req,
                               const std::function<void(const v1::AgentEvent&)>& on_event,
                               std::chrono::milliseconds deadline) = 0;
  virtual absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& req, std::chrono::milliseconds deadline) = 0;
  virtual absl::StatusOr<v1::RenewLeaseResponse> RenewLease(const v1::RenewLeaseRequest& req) = 0;
  // Kills one unit on purpose (incident simulation). Never repeated by the client on its own.
  virtual absl::StatusOr<v1::ChaosInjectFaultResponse> InjectFault(const v1::ChaosInjectFaultRequest& req) {
    (void)req;
    return absl::UnimplementedError("this agent client cannot inject faults");
  }
};

}  // namespace failover
