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
  // The mTLS (or loopback plaintext) channel to `host`'s agent; INVALID_ARGUMENT names what is wrong.
  // Keepalive pings only while a call is open: an idle cached channel costs no CPU.
  static absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(const Config& config, const HostConfig& host);
  // A client over an existing (cached) channel.
  static std::unique_ptr<GrpcAgentClient> Over(const Config& config, const HostConfig& host,
                                               std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<v1::GetStateResponse> GetState(const v1::GetStateRequest& req) override;
  absl::Status Execute(const v1::ExecuteRequest& req, const std::function<void(const v1::AgentEvent&)>& on_event,
                       std::chrono::milliseconds deadline) override;
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& req, std::chrono::milliseconds deadline) override;
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(const v1::RenewLeaseRequest& req) override;
  absl::StatusOr<v1::ChaosInjectFaultResponse> InjectFault(const v1::ChaosInjectFaultRequest& req) override;

 private:
  GrpcAgentClient(std::string host, std::string address, std::shared_ptr<grpc::Channel> channel,
                  std::chrono::milliseconds call_timeout)
      : host_(std::move(host)), address_(std::move(address)), channel_(channel), stub_(v1::Agent::NewStub(channel)),
        call_timeout_(call_timeout) {}
  // A unary call on a channel that was connected before it and failed UNAVAILABLE found a broken
  // (stale) connection: once more on a fresh connection, within the same deadline. Only for
  // calls that may be repeated (GetState, RenewLease, Probe), never Execute.
  template <typename Call>
  grpc::Status CallOnce(std::chrono::system_clock::time_point deadline, Call call);
  absl::Status Annotate(const grpc::Status& s) const;
  // Why a TLS connection to the agent fails, in words (" (...)"), or "" when it does not.
  std::string Diagnose(const std::string& grpc_message) const;

  std::string host_;
  std::string address_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Agent::Stub> stub_;
  std::chrono::milliseconds call_timeout_;
  TlsFiles tls_;  // empty with insecure_plaintext
};

}  // namespace failover::coordinator
