// The Inject and Chaos RPCs: authorize → prepare (config, agent clients, picks) → hand off to the
// FaultExecutor; a service that systemd does not bring back is failed over through RunExecutor.
#include <algorithm>
#include <atomic>
#include <random>

#include "absl/strings/str_cat.h"
#include "coordinator/chaos_planner.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/fault_executor.h"
#include "coordinator/wire_enums.h"
#include "common/probe_runner.h"
#include "failover/event_stream.h"
#include "failover/logging.h"
#include "failover/tls.h"

namespace failover::coordinator {
namespace {

std::unique_ptr<ProbeRunner> CoordinatorProbes(const Config& config) {
  std::map<std::string, std::string> secrets;
  if (!config.health_check.token.empty()) secrets[kHealthCheckSecret] = config.health_check.token;
  return std::make_unique<LocalProbeRunner>("coordinator", secrets, nullptr, RealClock::Get());
}

absl::Status CheckDeadline(uint32_t ms) {
  if (ms > kMaxRecoverDeadlineMs)
    return absl::InvalidArgumentError(absl::StrCat("--recover-deadline-ms ", ms, ": at most ", kMaxRecoverDeadlineMs));
  return absl::OkStatus();
}

// The run request an inject or chaos request stands for (config, execute, API base and token).
template <typename FaultRequest>
v1::RunRequest RunRequestOf(const FaultRequest& req) {
  v1::RunRequest rr;
  rr.set_config_yaml(req.config_yaml());
  rr.set_config_path(req.config_path());
  rr.set_execute(req.execute());
  rr.set_api_base(req.api_base());
  rr.set_api_token(req.api_token());
  return rr;
}

// The fields inject and chaos share, checked: the signal (returned) and the recovery deadline.
template <typename FaultRequest>
absl::StatusOr<KillSignal> CheckFaultRequest(const FaultRequest& req) {
  auto signal = KillSignalFromWire(req.signal(), "signal");
  if (!signal.ok()) return signal.status();
  if (absl::Status s = CheckDeadline(req.recover_deadline_ms()); !s.ok()) return s;
  return *signal;
}

}  // namespace

grpc::ServerWriteReactor<v1::RunEvent>* CoordinatorService::Inject(grpc::CallbackServerContext* ctx,
                                                                   const v1::ChaosInjectRequest* req) {
  using Stream = EventStream<v1::RunEvent>;
  if (absl::Status s = Authorize(*ctx); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  const v1::RunRequest rr = RunRequestOf(*req);
  auto signal = CheckFaultRequest(*req);
  if (!signal.ok()) return Stream::Fail(ToGrpcStatus(signal.status()));
  auto prepared = Prepare(rr);
  if (!prepared.ok()) return Stream::Fail(ToGrpcStatus(prepared.status()));
  std::shared_ptr<Prepared> p(std::move(*prepared));
  auto target = InjectTarget(*p->config, req->unit(), req->host());
  if (!target.ok()) return Stream::Fail(ToGrpcStatus(target.status()));
  FaultRunOptions o;
  o.kind = v1::RUN_KIND_INJECT;
  o.execute = req->execute();
  o.signal = *signal;
  o.picks = {*target};
  o.candidates = {*target};
  o.services = {target->service};
  o.recover_deadline_ms = req->recover_deadline_ms() == 0 ? kDefaultRecoverDeadlineMs : req->recover_deadline_ms();
  o.then_failover = req->then_failover();
  return StartFaultRun(ctx, rr, p, std::move(o));
}

grpc::ServerWriteReactor<v1::RunEvent>* CoordinatorService::Chaos(grpc::CallbackServerContext* ctx,
                                                                  const v1::ChaosRunRequest* req) {
  using Stream = EventStream<v1::RunEvent>;
  if (absl::Status s = Authorize(*ctx); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  const v1::RunRequest rr = RunRequestOf(*req);
  auto signal = CheckFaultRequest(*req);
  if (!signal.ok()) return Stream::Fail(ToGrpcStatus(signal.status()));
  if (req->rounds() > kMaxChaosRounds)
    return Stream::Fail(ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat("--rounds ", req->rounds(), ": at most ", kMaxChaosRounds))));
  auto prepared = Prepare(rr);
  if (!prepared.ok()) return Stream::Fail(ToGrpcStatus(prepared.status()));
  std::shared_ptr<Prepared> p(std::move(*prepared));
  std::vector<std::string> services(req->services().begin(), req->services().end());
  auto candidates = FaultCandidates(*p->config, services);
  if (!candidates.ok()) return Stream::Fail(ToGrpcStatus(candidates.status()));
  FaultRunOptions o;
  o.kind = v1::RUN_KIND_CHAOS;
  o.execute = req->execute();
  o.signal = *signal;
  o.seed = req->seed() != 0 ? req->seed() : std::random_device{}() | 1;
  o.picks = PlanChaosPicks(*candidates, o.seed, req->rounds() == 0 ? 1 : req->rounds());
  o.candidates = *candidates;
  o.services = services.empty() ? p->config->default_order : services;
  o.max_down = req->max_down() == 0 ? 1 : req->max_down();
  o.recover_deadline_ms = req->recover_deadline_ms() == 0 ? kDefaultRecoverDeadlineMs : req->recover_deadline_ms();
  o.pause_ms = std::min<uint32_t>(req->pause_ms(), 60000);
  return StartFaultRun(ctx, rr, p, std::move(o));
}

grpc::ServerWriteReactor<v1::RunEvent>* CoordinatorService::StartFaultRun(grpc::CallbackServerContext* ctx,
                                                                          const v1::RunRequest& rr,
                                                                          std::shared_ptr<Prepared> p,
                                                                          FaultRunOptions options) {
  using Stream = EventStream<v1::RunEvent>;
  if (absl::Status s = CheckWindow(rr, *ctx, p.get()); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  const std::string run_id = NewRunId();
  if (absl::Status s = Register(run_id); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  const char* kind = options.kind == v1::RUN_KIND_CHAOS ? "chaos" : "inject";
  if (options.execute) {
    std::vector<std::string> hosts;
    for (const auto& c : options.candidates)
      if (std::find(hosts.begin(), hosts.end(), c.host) == hosts.end()) hosts.push_back(c.host);
    if (absl::Status s = deps_.claims->Claim(hosts, run_id); !s.ok()) {
      RecordRefused(*p, run_id, s);
      Unregister(run_id);
      return Stream::Fail(ToGrpcStatus(s));
    }
  }
  GetLogger("coordinator")->warn("[audit] {} run {} by {}: {} fault(s), {}", kind, run_id, (PeerIdentity(*ctx).empty() ? std::string("unix socket") : "certificate \"" + PeerIdentity(*ctx) + "\""),
                                 options.picks.size(), options.execute ? "executed" : "dry run");
  if (!p->config_yaml.empty()) deps_.runs->SaveRequestConfig(run_id, p->config_yaml);
  return Stream::Start([this, p, run_id, options = std::move(options)](Stream::Sink& sink) {
    ExecuteFaultRun(*p, options, run_id, [&sink](v1::RunEvent e) { sink.Push(std::move(e)); });
    return grpc::Status::OK;
  });
}

std::string CoordinatorService::StopWhy(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(active_mu_);
  auto it = active_.find(run_id);
  return it == active_.end() ? "" : it->second.stop_why;
}

v1::Report CoordinatorService::FailOverService(const Prepared& p, const std::string& run_id,
                                               const std::string& service,
                                               const std::function<void(v1::RunEvent)>& push) {
  static std::atomic<uint32_t> n{0};
  const std::string failover_id = absl::StrCat(run_id, "-failover-", ++n);
  v1::RunRequest rr;
  rr.add_services(service);
  rr.set_execute(true);
  v1::Report refused;
  refused.set_outcome(v1::RUN_REFUSED);
  auto options = ResolveOptions(*p.config, rr);
  if (!options.ok()) return refused.set_summary(std::string(options.status().message())), refused;
  auto plan = BuildPlan(*p.config, *options);
  if (!plan.ok()) return refused.set_summary(std::string(plan.status().message())), refused;
  auto health = CoordinatorProbes(*p.config);
  RunExecutor executor(
      *p.config, *plan, p.clients, health.get(), deps_.clock,
      [&](v1::RunEvent e) {
        e.set_run_id(run_id);
        e.set_message("failover " + failover_id + ": " + e.message());
        push(std::move(e));
      },
      [](const v1::Report&) {});
  return executor.Run(failover_id);
}

void CoordinatorService::ExecuteFaultRun(const Prepared& p, const FaultRunOptions& options, const std::string& run_id,
                                         const std::function<void(v1::RunEvent)>& push) {
  auto log = GetLogger("coordinator");
  auto probes = CoordinatorProbes(*p.config);
  auto emit = [&](v1::RunEvent e) {
    log->info("[run={}]{}{} {}", run_id, e.host().empty() ? "" : "[host=" + e.host() + "]",
              e.unit().empty() ? "" : "[unit=" + e.unit() + "]", e.message());
    e.set_run_id(run_id);
    push(std::move(e));
  };
  FaultExecutor executor(
      *p.config, options, p.clients, probes.get(), deps_.clock, emit,
      [&](const std::string& service) { return FailOverService(p, run_id, service, emit); },
      [this, run_id] { return StopWhy(run_id); });
  // Inject and chaos runs send no end notice (notifications are for failovers).
  FinishRun(p, run_id, executor.Run(run_id), /*announce=*/false, push);
}

}  // namespace failover::coordinator
