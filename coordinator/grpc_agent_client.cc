#include "grpc_agent_client.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "failover/event_stream.h"
#include "failover/tls.h"

namespace failover::coordinator {

absl::StatusOr<std::shared_ptr<grpc::Channel>> GrpcAgentClient::NewChannel(const Config& config,
                                                                           const HostConfig& host) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (config.insecure_plaintext) {
    creds = grpc::InsecureChannelCredentials();
  } else {
    auto c = MakeChannelCredentials(config.tls);
    if (!c.ok()) return c.status();
    if (absl::Status s = CheckOwnCertificate(config.tls); !s.ok())
      return absl::Status(s.code(), absl::StrCat("host ", host.name, ": the coordinator's own certificate: ", s.message()));
    creds = *c;
  }
  // Agents' certificates name the host (CN/SAN = host name), not its address.
  // Pings keep a step's stream honest (a dead agent is noticed in seconds); an idle channel kept
  // between runs pings nobody. A connection that died while idle is found by the next call
  // (CallOnce) or by the channel's state (the factory's cache).
  grpc::ChannelArguments args = DefaultChannelArguments(config.insecure_plaintext ? "" : host.name,
                                                        kDefaultConnectTimeout, /*ping_when_idle=*/false);
  return grpc::CreateCustomChannel(host.agent, creds, args);
}

std::unique_ptr<GrpcAgentClient> GrpcAgentClient::Over(const Config& config, const HostConfig& host,
                                                       std::shared_ptr<grpc::Channel> channel) {
  auto client = std::unique_ptr<GrpcAgentClient>(new GrpcAgentClient(
      host.name, host.agent, std::move(channel), std::chrono::milliseconds(config.defaults.call_timeout_ms)));
  if (!config.insecure_plaintext) client->tls_ = config.tls;
  return client;
}

absl::StatusOr<std::unique_ptr<GrpcAgentClient>> GrpcAgentClient::Create(const Config& config, const HostConfig& host) {
  auto channel = NewChannel(config, host);
  if (!channel.ok()) return channel.status();
  return Over(config, host, *std::move(channel));
}

template <typename Call>
grpc::Status GrpcAgentClient::CallOnce(std::chrono::system_clock::time_point deadline, Call call) {
  const bool was_connected = channel_->GetState(false) == GRPC_CHANNEL_READY;
  grpc::Status s = call(deadline);
  if (s.error_code() != grpc::StatusCode::UNAVAILABLE || !was_connected ||
      std::chrono::system_clock::now() >= deadline)
    return s;
  return call(deadline);  // the connection broke (agent restarted, peer reset): a new one
}

absl::Status GrpcAgentClient::Annotate(const grpc::Status& s) const {
  if (s.ok()) return absl::OkStatus();
  std::string msg = s.error_message();
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE || s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)
    msg = absl::StrCat("agent ", address_, " unreachable: ", msg,
                       s.error_code() == grpc::StatusCode::UNAVAILABLE ? Diagnose(msg) : "");
  else if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT || s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
           s.error_code() == grpc::StatusCode::UNAUTHENTICATED || s.error_code() == grpc::StatusCode::FAILED_PRECONDITION)
    msg = absl::StrCat("agent ", address_, " refused the request: ", msg);
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), absl::StrCat("host ", host_, ": ", msg));
}

std::string GrpcAgentClient::Diagnose(const std::string& grpc_message) const {
  // gRPC says only "Socket closed" when a handshake fails: one handshake of our own says why.
  const bool tls_failure = absl::StrContains(grpc_message, "Socket closed") ||
                           absl::StrContains(grpc_message, "andshake") || absl::StrContains(grpc_message, "SSL");
  if (!tls_.enabled() || !tls_failure) return "";
  absl::Status s = ProbeTlsHandshake(address_, tls_, host_, std::chrono::seconds(2));
  if (s.ok() || (s.code() == absl::StatusCode::kUnavailable && absl::StrContains(s.message(), "cannot connect")))
    return "";
  return absl::StrCat(" (", s.message(), ")");
}

absl::StatusOr<v1::GetStateResponse> GrpcAgentClient::GetState(const v1::GetStateRequest& req) {
  // Hosts may have more units than one request carries: ask in batches, answer as one.
  v1::GetStateResponse all;
  bool first = true;
  int i = 0;
  do {
    v1::GetStateRequest batch = req;
    batch.clear_units();
    for (int end = std::min(req.units_size(), i + kGetStateBatch); i < end; ++i) batch.add_units(req.units(i));
    const bool last = i >= req.units_size();
    batch.set_release(req.release() && last);  // released after the last batch's read
    if (!last) batch.clear_release_only_if_active();  // the caller names units of one batch only
    v1::GetStateResponse resp;
    grpc::Status rpc = CallOnce(std::chrono::system_clock::now() + call_timeout_, [&](auto deadline) {
      grpc::ClientContext ctx;
      ctx.set_deadline(deadline);
      ctx.set_wait_for_ready(false);
      resp.Clear();
      return stub_->GetState(&ctx, batch, &resp);
    });
    if (absl::Status s = Annotate(rpc); !s.ok()) return s;
    if (first) {
      all = std::move(resp);
      first = false;
    } else {
      for (auto& u : *resp.mutable_units()) *all.add_units() = std::move(u);
      all.set_release_done(resp.release_done());
    }
  } while (i < req.units_size());
  return all;
}

// Blocking calls on purpose, here and in the unary calls: on gRPC 1.51's callback API a call's
// completions are served by "nexting" threads that sleep 100 ms after 1 s without an event, so the
// events after a step's 1 s settle window arrived up to 100 ms late (tried: make bench went from 6
// to 102 ms of overhead per rolling step; see also event_stream.h).
absl::Status GrpcAgentClient::Execute(const v1::ExecuteRequest& req,
                                      const std::function<void(const v1::AgentEvent&)>& on_event,
                                      std::chrono::milliseconds deadline) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  v1::ExecuteRequest wire = req;
  wire.set_batch_events(true);  // unpacked below
  auto reader = stub_->Execute(&ctx, wire);
  v1::AgentEvent e;
  bool got_done = false;
  auto deliver = [&](v1::AgentEvent& one) {
    one.clear_more();  // one level only (agent.proto)
    got_done = got_done || one.kind() == v1::AgentEvent::STEP_DONE;
    on_event(one);
  };
  while (reader->Read(&e)) {
    google::protobuf::RepeatedPtrField<v1::AgentEvent> more;
    more.Swap(e.mutable_more());
    deliver(e);
    for (auto& m : more) deliver(m);
  }
  grpc::Status s = reader->Finish();
  if (s.ok() && !got_done)
    return absl::UnavailableError(absl::StrCat("host ", host_, ": the agent's stream ended before the step finished"));
  return Annotate(s);
}

absl::StatusOr<v1::ProbeResponse> GrpcAgentClient::Probe(const v1::ProbeRequest& req, std::chrono::milliseconds deadline) {
  v1::ProbeResponse resp;
  grpc::Status rpc = CallOnce(std::chrono::system_clock::now() + deadline, [&](auto at) {
    grpc::ClientContext ctx;
    ctx.set_deadline(at);
    resp.Clear();
    return stub_->Probe(&ctx, req, &resp);
  });
  if (absl::Status s = Annotate(rpc); !s.ok()) return s;
  return resp;
}

absl::StatusOr<v1::RenewLeaseResponse> GrpcAgentClient::RenewLease(const v1::RenewLeaseRequest& req) {
  v1::RenewLeaseResponse resp;
  grpc::Status rpc = CallOnce(std::chrono::system_clock::now() + call_timeout_, [&](auto deadline) {
    grpc::ClientContext ctx;
    ctx.set_deadline(deadline);
    resp.Clear();
    return stub_->RenewLease(&ctx, req, &resp);
  });
  if (absl::Status s = Annotate(rpc); !s.ok()) return s;
  return resp;
}

// Not CallOnce: a kill is not repeated behind the caller's back.
absl::StatusOr<v1::ChaosInjectFaultResponse> GrpcAgentClient::InjectFault(const v1::ChaosInjectFaultRequest& req) {
  v1::ChaosInjectFaultResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + call_timeout_);
  if (absl::Status s = Annotate(stub_->InjectFault(&ctx, req, &resp)); !s.ok()) return s;
  return resp;
}

}  // namespace failover::coordinator
