// AgentClient over gRPC: mTLS channel, keepalive, a deadline on every call.
#pragma once

#include <memory>

#include "coordinator/config.h"
#include "failover/agent_client.h"
#include "failover/tls.h"
#include "failover/v1/agent.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace failover::coordinator {

class GrpcAgentClient : public AgentClient {
 public:
  // Units per GetState call: agents accept up to 256 (64 before); larger hosts are batched.
  static constexpr int kGetStateBatch = kGetStateBatchUnits;  // config.h: the limit checked at config time

  // Builds the channel for `host` from the config's TLS settings.
  static absl::StatusOr<std::unique_ptr<GrpcAgentClient>> Create(const Config& config, const HostConfig& host);

  absl::StatusOr<v1::GetStateResponse> GetState(const v1::GetStateRequest& req) override;
  absl::Status Execute(const v1::ExecuteRequest& req, const std::function<void(const v1::AgentEvent&)>& on_event,
                       std::chrono::milliseconds deadline) override;
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& req, std::chrono::milliseconds deadline) override;
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(const v1::RenewLeaseRequest& req) override;

 private:
  GrpcAgentClient(std::string host, std::string address, std::shared_ptr<grpc::Channel> channel,
                  std::chrono::milliseconds call_timeout)
      : host_(std::move(host)), address_(std::move(address)), stub_(v1::Agent::NewStub(channel)),
        call_timeout_(call_timeout) {}
  absl::Status Annotate(const grpc::Status& s) const;
  // Why a TLS connection to the agent fails, in words (" (...)"), or "" when it does not.
  std::string Diagnose(const std::string& grpc_message) const;

  std::string host_;
  std::string address_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::chrono::milliseconds call_timeout_;
  TlsFiles tls_;  // empty with insecure_plaintext
};

}  // namespace failover::coordinator
