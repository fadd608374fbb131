#include "grpc_agent_client.h"

#include "absl/strings/str_cat.h"
#include "failover/event_stream.h"
#include "failover/tls.h"

namespace failover::coordinator {

absl::StatusOr<std::unique_ptr<GrpcAgentClient>> GrpcAgentClient::Create(const Config& config, const HostConfig& host) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (config.insecure_plaintext) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    auto c = MakeChannelCredentials(config.tls);
    if (!c.ok()) return c.status();
    creds = *c;
  }
  // Agents' certificates name the host (CN/SAN = host name), not its address.
  auto channel = grpc::CreateCustomChannel(host.agent, creds,
                                           DefaultChannelArguments(config.insecure_plaintext ? "" : host.name));
  return std::unique_ptr<GrpcAgentClient>(new GrpcAgentClient(
      host.name, host.agent, channel, std::chrono::milliseconds(config.defaults.call_timeout_ms)));
}

absl::Status GrpcAgentClient::Annotate(const grpc::Status& s) const {
  if (s.ok()) return absl::OkStatus();
  std::string msg = s.error_message();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    msg = absl::StrCat("agent ", address_, " unreachable: ", msg);
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), absl::StrCat("host ", host_, ": ", msg));
}

absl::StatusOr<v1::GetStateResponse> GrpcAgentClient::GetState(const v1::GetStateRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);
  ctx.set_wait_for_ready(false);
  v1::GetStateResponse resp;
  if (absl::Status s = Annotate(stub_->GetState(&ctx, req, &resp)); !s.ok()) return s;
  return resp;
}

absl::Status GrpcAgentClient::Execute(const v1::ExecuteRequest& req,
                                      const std::function<void(const v1::AgentEvent&)>& on_event,
                                      std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  auto reader = stub_->Execute(&ctx, req);
  v1::AgentEvent e;
  bool got_done = false;
  while (reader->Read(&e)) {
    got_done = got_done || e.kind() == v1::AgentEvent::STEP_DONE;
    on_event(e);
  }
  grpc::Status s = reader->Finish();
  if (s.ok() && !got_done)
    return absl::UnavailableError(absl::StrCat("host ", host_, ": the agent's stream ended before the step finished"));
  return Annotate(s);
}

absl::StatusOr<v1::ProbeResponse> GrpcAgentClient::Probe(const v1::ProbeRequest& req, std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::ProbeResponse resp;
  if (absl::Status s = Annotate(stub_->Probe(&ctx, req, &resp)); !s.ok()) return s;
  return resp;
}

absl::StatusOr<v1::RenewLeaseResponse> GrpcAgentClient::RenewLease(const v1::RenewLeaseRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);
  v1::RenewLeaseResponse resp;
  if (absl::Status s = Annotate(stub_->RenewLease(&ctx, req, &resp)); !s.ok()) return s;
  return resp;
}

}  // namespace failover::coordinator
