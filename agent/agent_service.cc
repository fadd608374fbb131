#include "agent_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "failover/event_stream.h"
#include "failover/logging.h"
#include "failover/tls.h"
#include "failover/worker_pool.h"

namespace failover::agent {
namespace {

constexpr char kVersion[] = "failover-agent 0.1";

// Runs blocking `work` off the gRPC thread and finishes the unary reactor from there.
template <typename F>
grpc::ServerUnaryReactor* FinishOnWorker(grpc::CallbackServerContext* ctx, F work) {
  auto* reactor = ctx->DefaultReactor();
  WorkerPool::Shared().Run([reactor, work = std::move(work)]() mutable { reactor->Finish(work()); });
  return reactor;
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

}  // namespace

AgentService::AgentService(const AgentConfig& config, SystemdManager* systemd, ProbeRunner* probes,
                           HostLease* lease, AuditLog* audit)
    : config_(config),
      systemd_(systemd),
      probes_(probes),
      lease_(lease),
      audit_(audit),
      runner_(config.host, systemd, probes, lease, audit, RealClock::Get()),
      injector_(config.host, systemd, lease, audit, RealClock::Get()) {}

AgentService::~AgentService() {
  stopping_ = true;
  lease_->StopWaiting();
  if (watcher_.joinable()) watcher_.join();
}

absl::Status AgentService::Authorize(const grpc::ServerContextBase& ctx, std::string* identity) const {
  *identity = PeerIdentity(ctx);
  if (config_.insecure_plaintext && identity->empty()) {
    *identity = "plaintext:" + ctx.peer();
    return absl::OkStatus();
  }
  if (identity->empty()) return absl::UnauthenticatedError("a verified client certificate is required");
  if (!config_.allowed_clients.empty() &&
      std::find(config_.allowed_clients.begin(), config_.allowed_clients.end(), *identity) ==
          config_.allowed_clients.end())
    return absl::PermissionDeniedError(absl::StrCat("client \"", *identity, "\" is not in allowed_clients"));
  return absl::OkStatus();
}

absl::Status AgentService::Refuse(const grpc::ServerContextBase& ctx, const std::string& caller,
                                  const char* rpc, const std::string& what, absl::Status why) const {
  GetLogger("agent")->warn("refused {} from {} ({}): {}: {}", rpc, caller.empty() ? "?" : caller, ctx.peer(), what,
                           why.message());
  (void)audit_->RecordRefusal({caller, ctx.peer(), rpc, what, std::string(why.message())});
  return why;
}

namespace {
template <typename Units>
std::string Describe(const std::string& run, const std::string& step, const Units& units) {
  std::string out = absl::StrCat("run=", run, " step=", step, " units=");
  int n = 0;
  for (const auto& u : units) {
    if (n++ == 8) return absl::StrCat(out, ",... (", units.size(), " units)");
    absl::StrAppend(&out, n > 1 ? "," : "", u.substr(0, 256));
  }
  return out;
}

// Events that queued up behind an earlier write travel in its message (ExecuteRequest.batch_events).
void BatchEvent(v1::AgentEvent* batch, v1::AgentEvent next) { *batch->add_more() = std::move(next); }
}  // namespace

grpc::ServerUnaryReactor* AgentService::GetState(grpc::CallbackServerContext* ctx, const v1::GetStateRequest* req,
                                                 v1::GetStateResponse* resp) {
  std::string caller;
  const std::string what = Describe("", "", req->units());
  if (absl::Status s = Authorize(*ctx, &caller); !s.ok()) return FinishNow(ctx, Refuse(*ctx, caller, "GetState", what, s));
  if (req->units_size() > kMaxUnitsPerGetState)
    return FinishNow(ctx, Refuse(*ctx, caller, "GetState", what,
                                 absl::InvalidArgumentError(absl::StrCat("at most ", kMaxUnitsPerGetState,
                                                                         " units per GetState request, got ",
                                                                         req->units_size()))));
  for (const auto& u : req->units())
    if (absl::Status s = config_.allowlist.Check(u); !s.ok()) return FinishNow(ctx, Refuse(*ctx, caller, "GetState", what, s));
  if (req->release() || req->release_only_if_active_size() > 0) {  // before a reservation: a refusal changes nothing
    if (absl::Status s = CheckRelease(*req); !s.ok()) return FinishNow(ctx, Refuse(*ctx, caller, "GetState", what, s));
  }
  if (req->reserve_lease_ms() > 0) {
    if (absl::Status s = Reserve(*req); !s.ok()) return FinishNow(ctx, Refuse(*ctx, caller, "GetState", what, s));
  }
  return FinishOnWorker(ctx, [this, req, resp]() -> grpc::Status {
    const absl::Status read = ReadState(*req, resp);
    // The run's last call: the units were read while it still held the host; release even when a
    // read failed (the run is over either way), as RenewLease{release} would; a conditional
    // release only when this read shows each unit it names active.
    if (req->release() && (req->release_only_if_active().empty() || (read.ok() && AllActive(*req, *resp)))) {
      ReleaseFor(req->run_id());
      resp->set_release_done(true);
    }
    return ToGrpcStatus(read);
  });
}

bool AgentService::AllActive(const v1::GetStateRequest& req, const v1::GetStateResponse& resp) {
  for (const auto& unit : req.release_only_if_active()) {
    auto it = std::find_if(resp.units().begin(), resp.units().end(),
                           [&](const v1::UnitState& st) { return st.unit() == unit; });
    if (it == resp.units().end() || it->active_state() != "active") return false;
  }
  return true;
}

absl::Status AgentService::CheckRelease(const v1::GetStateRequest& req) const {
  if (!req.release()) return absl::InvalidArgumentError("GetState: release_only_if_active without release");
  if (absl::Status s = ValidateId("run_id", req.run_id()); !s.ok()) return s;
  if (req.reserve_lease_ms() > 0)
    return absl::InvalidArgumentError("GetState: release and reserve_lease_ms together; a run reserves first, "
                                      "releases last");
  for (const auto& unit : req.release_only_if_active())
    if (std::find(req.units().begin(), req.units().end(), unit) == req.units().end())
      return absl::InvalidArgumentError(absl::StrCat("GetState: release_only_if_active names ", unit.substr(0, 256),
                                                     ", which is not among the units read"));
  return absl::OkStatus();
}

absl::Status AgentService::ReadState(const v1::GetStateRequest& req, v1::GetStateResponse* resp) {
  resp->set_host(config_.host);
  resp->set_agent_version(kVersion);
  resp->set_held_by_run(lease_->holder());
  for (const auto& op : lease_->autonomous()) *resp->add_autonomous_operations() = op;
  for (auto& st : systemd_->GetUnitStates({req.units().begin(), req.units().end()})) {
    if (!st.ok()) return st.status();
    st->set_host(config_.host);
    *resp->add_units() = *st;
  }
  return absl::OkStatus();
}

void AgentService::ReleaseFor(const std::string& run) {
  auto units = lease_->Release(run);  // only a lease `run` holds
  if (!units.empty()) runner_.RestoreUnits(run, units, "run released the host with units still stopped");
}

absl::Status AgentService::Reserve(const v1::GetStateRequest& req) {
  if (absl::Status s = ValidateId("run_id", req.run_id()); !s.ok()) return s;
  if (req.reserve_lease_ms() > kMaxLeaseMs)
    return absl::InvalidArgumentError(absl::StrCat("reserve_lease_ms must be 1..", kMaxLeaseMs));
  if (draining_) return absl::UnavailableError("agent is shutting down");
  // The host lock, taken before the run's first change: refused (naming the holder) when
  // another run holds it, so a later run can never abort an earlier one half-way.
  return lease_->Acquire(req.run_id(), std::chrono::milliseconds(req.reserve_lease_ms()));
}

grpc::Status AgentService::Execute(grpc::ServerContext* ctx, const v1::ExecuteRequest* req,
                                   grpc::ServerWriter<v1::AgentEvent>* writer) {
  using Stream = EventStream<v1::AgentEvent>;
  std::string caller;
  const std::string what = Describe(req->run_id().substr(0, 256), req->step_id().substr(0, 256), req->units());
  if (absl::Status s = Authorize(*ctx, &caller); !s.ok()) return ToGrpcStatus(Refuse(*ctx, caller, "Execute", what, s));
  absl::Status valid = ValidateExecuteRequest(*req, config_.allowlist);
  for (int i = 0; valid.ok() && i < req->probes_size(); ++i) valid = CheckSecretUse(config_, req->probes(i));
  if (!valid.ok()) return ToGrpcStatus(Refuse(*ctx, caller, "Execute", what, valid));
  if (draining_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "agent is shutting down");
  if (!req->dry_run()) {
    if (absl::Status s = lease_->Acquire(req->run_id(), std::chrono::milliseconds(req->lease_ms())); !s.ok())
      return ToGrpcStatus(s);
    lease_->BeginStep();
  }
  // Copy: the worker outlives the RPC when the coordinator goes away mid-step.
  return Stream::Serve(ctx, writer, [this, request = *req, caller](Stream::Sink& sink) {
    runner_.Run(request, caller, [this, &sink](v1::AgentEvent e) {
      if (sink.cancelled() && e.kind() == v1::AgentEvent::JOB_DONE) {
        // Nobody hears this any more: keep it for GetState, so the run's report can show it.
        v1::OperationRecord op = e.operation();
        op.set_autonomous(true);
        op.set_detail(op.detail().empty() ? "finished after the coordinator's stream was lost"
                                          : op.detail() + "; finished after the coordinator's stream was lost");
        lease_->RecordAutonomous(op);
      }
      // STEP_DONE is a step's last event (StepRunner::Run): it goes out with the RPC's status.
      if (e.kind() == v1::AgentEvent::STEP_DONE) sink.PushLast(std::move(e));
      else sink.Push(std::move(e));
    });
    // The end of a step does not renew the lease: only the coordinator does (RenewLease, a new
    // step). An agent frozen mid-step must not extend a lease its coordinator already gave up.
    if (!request.dry_run()) lease_->EndStep();
    return grpc::Status::OK;
  }, req->batch_events() ? Stream::MergeFn(BatchEvent) : nullptr);
}

grpc::ServerUnaryReactor* AgentService::Probe(grpc::CallbackServerContext* ctx, const v1::ProbeRequest* req,
                                              v1::ProbeResponse* resp) {
  std::string caller;
  const std::string what = absl::StrCat(req->probes_size(), " probe(s)");
  auto refuse = [&](absl::Status s) { return FinishNow(ctx, Refuse(*ctx, caller, "Probe", what, std::move(s))); };
  if (absl::Status s = Authorize(*ctx, &caller); !s.ok()) return refuse(s);
  if (req->probes_size() > kMaxProbesPerRequest)
    return refuse(absl::InvalidArgumentError(absl::StrCat("at most ", kMaxProbesPerRequest, " probes")));
  for (const auto& p : req->probes()) {
    if (absl::Status s = ValidateProbeSpec(p, config_.allowlist); !s.ok()) return refuse(s);
    if (absl::Status s = CheckSecretUse(config_, p); !s.ok()) return refuse(s);
  }
  return FinishOnWorker(ctx, [this, req, resp]() {
    for (const auto& p : req->probes()) *resp->add_results() = probes_->Run(p);
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* AgentService::RenewLease(grpc::CallbackServerContext* ctx,
                                                   const v1::RenewLeaseRequest* req,
                                                   v1::RenewLeaseResponse* resp) {
  std::string caller;
  const std::string what = absl::StrCat("run=", req->run_id().substr(0, 256));
  auto refuse = [&](absl::Status s) { return FinishNow(ctx, Refuse(*ctx, caller, "RenewLease", what, std::move(s))); };
  if (absl::Status s = Authorize(*ctx, &caller); !s.ok()) return refuse(s);
  if (absl::Status s = ValidateId("run_id", req->run_id()); !s.ok()) return refuse(s);
  if (req->release()) {
    return FinishOnWorker(ctx, [this, run = req->run_id()]() {
      ReleaseFor(run);
      return grpc::Status::OK;
    });
  }
  if (req->lease_ms() == 0 || req->lease_ms() > kMaxLeaseMs)
    return refuse(absl::InvalidArgumentError(absl::StrCat("lease_ms must be 1..", kMaxLeaseMs)));
  if (absl::Status s = lease_->Renew(req->run_id(), std::chrono::milliseconds(req->lease_ms())); !s.ok())
    return FinishNow(ctx, s);
  for (const auto& u : lease_->held_units()) resp->add_held_units(u);
  return FinishNow(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AgentService::InjectFault(grpc::CallbackServerContext* ctx,
                                                    const v1::ChaosInjectFaultRequest* req,
                                                    v1::ChaosInjectFaultResponse* resp) {
  std::string caller;
  const std::string what = absl::StrCat("run=", req->run_id().substr(0, 256), " unit=", req->unit().substr(0, 256),
                                        " signal=", static_cast<int>(req->signal()), req->dry_run() ? " (dry run)" : "");
  auto refuse = [&](absl::Status s) { return FinishNow(ctx, Refuse(*ctx, caller, "InjectFault", what, std::move(s))); };
  if (absl::Status s = Authorize(*ctx, &caller); !s.ok()) return refuse(s);
  if (absl::Status s = ValidateInjectFaultRequest(*req, config_.allowlist); !s.ok()) return refuse(s);
  if (draining_) return FinishNow(ctx, absl::UnavailableError("agent is shutting down"));
  return FinishOnWorker(ctx, [this, ctx, req, resp, caller, what]() -> grpc::Status {
    auto r = injector_.Inject(*req, caller);
    if (!r.ok()) return ToGrpcStatus(Refuse(*ctx, caller, "InjectFault", what, r.status()));
    *resp = std::move(*r);
    return grpc::Status::OK;
  });
}

void AgentService::RestorePersistedHolds() {
  auto [run, units] = lease_->TakePersisted();
  if (!units.empty()) runner_.RestoreUnits(run, units, "agent restarted while the units were held stopped");
}

void AgentService::Drain(std::chrono::milliseconds max_wait) {
  draining_ = true;
  const auto deadline = std::chrono::steady_clock::now() + max_wait;
  while (lease_->steps_in_flight() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string run = lease_->holder();
  auto units = lease_->Release(run);
  if (!units.empty()) runner_.RestoreUnits(run, units, "agent stopping: it starts the units it held before it exits");
}

void AgentService::StartLeaseWatcher() {
  watcher_ = std::thread([this] {
    while (!stopping_) {
      auto [expired_run, held] = lease_->TakeExpired();
      if (!expired_run.empty()) {
        metrics_->LeaseExpired();
        GetLogger("agent")->warn("[run={}] lease expired without news from the coordinator", expired_run);
        if (!held.empty()) runner_.RestoreUnits(expired_run, held, "lease expired without news from the coordinator");
      }
      // Wakes at the lease's expiry (or when a renewal, a new run or a step's end changes it), not
      // on a poll: an idle agent does not wake at all.
      lease_->WaitForPossibleExpiry(std::chrono::seconds(60));
    }
  });
}

void ApplyAgentServerOptions(grpc::ServerBuilder* builder) {
  // gRPC's absl::Mutex records every lock order for deadlock-cycle reports (on in Debian's absl
  // build): ~10 % of the agents' and the coordinator's CPU under load (make bench-scale, perf).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 500);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // A peer that stalls the TLS handshake is dropped after 5 s (gRPC's default: 120 s).
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, 5000);
}

}  // namespace failover::agent
