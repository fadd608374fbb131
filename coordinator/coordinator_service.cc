#include "coordinator_service.h"

#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "coordinator/plan_preview.h"
#include "coordinator/report_writer.h"
#include "coordinator/run_executor.h"
#include "coordinator/run_recovery.h"
#include "coordinator/wire_enums.h"
#include "failover/event_stream.h"
#include "failover/logging.h"
#include "common/probe_runner.h"
#include "failover/probe.h"
#include "failover/tls.h"

namespace failover::coordinator {
namespace {

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

// Runs `work` on its own thread (agents may take their deadline) and finishes the call after it.
grpc::ServerUnaryReactor* FinishLater(grpc::CallbackServerContext* ctx, std::function<void()> work) {
  auto* reactor = ctx->DefaultReactor();
  std::thread([reactor, work = std::move(work)] {
    work();
    reactor->Finish(grpc::Status::OK);
  }).detach();
  return reactor;
}

// The coordinator's own probe runner (global health check), holding the check's token by name.
std::unique_ptr<ProbeRunner> CoordinatorProbeRunner(const Config& config) {
  std::map<std::string, std::string> secrets;
  if (!config.health_check.token.empty()) secrets[kHealthCheckSecret] = config.health_check.token;
  return std::make_unique<LocalProbeRunner>("coordinator", secrets, nullptr, RealClock::Get());
}

constexpr size_t kMaxConfigBytes = 1 << 20;

}  // namespace

absl::StatusOr<Config> ConfigForRequest(const Config* own, const std::string& request_yaml,
                                        const std::string& request_path) {
  if (request_yaml.empty()) {
    if (own == nullptr) return absl::InvalidArgumentError("no config given (-c) and the coordinator has no --config");
    return *own;
  }
  auto config = ParseConfigWithProcessEnv(request_yaml, request_path, ConfigSource::kRequest);
  if (!config.ok()) return config.status();
  if (own == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(request_path, ": a config sent with a request takes TLS and the health ",
                                                   "check from the coordinator's own --config, and it has none"));
  OverlayCoordinatorSettings(*own, &*config);
  if (config->insecure_plaintext)
    for (const auto& h : config->hosts)
      if (!IsLoopbackOrUnixAddress(h.agent))
        return absl::InvalidArgumentError(absl::StrCat(request_path, ": hosts.", h.name, ".agent: the coordinator runs ",
                                                       "insecure_plaintext, which refuses the non-loopback address ", h.agent));
  return config;
}

absl::Status CoordinatorService::Authorize(const grpc::CallbackServerContext& ctx) const {
  const std::string who = PeerIdentity(ctx);
  if (who.empty() || options_.allowed_clients.empty()) return absl::OkStatus();
  for (const auto& allowed : options_.allowed_clients)
    if (allowed == who) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("client \"", who, "\" is not in the coordinator's --allowed-clients"));
}

absl::StatusOr<std::string> CoordinatorService::WriteReport(const Config& config, v1::Report* report) const {
  return WriteReportFiles(options_.reports_dir.empty() ? config.reports_dir : options_.reports_dir, report);
}

std::string CoordinatorService::NewRunId() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return absl::StrFormat("%s-%04x", CompactUtcStamp(deps_.clock->NowUnixUs()), rng() & 0xffff);
}

absl::StatusOr<std::unique_ptr<CoordinatorService::Prepared>> CoordinatorService::Prepare(
    const v1::RunRequest& req) const {
  auto p = std::make_unique<Prepared>();
  std::string path = req.config_path().empty() ? "<request>" : req.config_path();
  if (req.config_yaml().size() > kMaxConfigBytes)
    return absl::InvalidArgumentError(absl::StrCat(path, ": config is larger than 1 MiB"));
  if (req.services_size() > 256) return absl::InvalidArgumentError("--services: at most 256 services");
  std::shared_ptr<const Config> own = deps_.config != nullptr ? deps_.config->Get() : nullptr;
  auto config = ConfigForRequest(own.get(), req.config_yaml(), path);
  if (!config.ok()) return config.status();
  p->config_yaml = req.config_yaml();
  p->config = std::make_shared<Config>(std::move(*config));
  auto options = ResolveOptions(*p->config, req);
  if (!options.ok()) return options.status();
  auto plan = BuildPlan(*p->config, *options);
  if (!plan.ok()) return plan.status();
  p->plan = std::move(*plan);
  for (const auto& h : p->config->hosts) {
    auto c = deps_.agents->Create(*p->config, h);
    if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": tls: ", c.status().message()));
    p->clients[h.name] = c->get();
    p->owned_clients[h.name] = std::move(*c);
  }
  return p;
}

grpc::ServerUnaryReactor* CoordinatorService::Plan(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                                   v1::PlanResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return FinishNow(ctx, prepared.status());
  std::shared_ptr<Prepared> p(std::move(*prepared));
  return FinishLater(ctx, [resp, p] { *resp = PreviewPlan(p->plan, p->clients); });
}

grpc::ServerUnaryReactor* CoordinatorService::Health(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                                     v1::HealthResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return FinishNow(ctx, prepared.status());
  std::shared_ptr<Prepared> p(std::move(*prepared));
  return FinishLater(ctx, [resp, p] {
    *resp = HealthSweep(*p->config, p->plan, p->clients, CoordinatorProbeRunner(*p->config).get());
  });
}

grpc::ServerWriteReactor<v1::RunEvent>* CoordinatorService::Run(grpc::CallbackServerContext* ctx,
                                                                const v1::RunRequest* req) {
  using Stream = EventStream<v1::RunEvent>;
  if (absl::Status s = Authorize(*ctx); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return Stream::Fail(ToGrpcStatus(prepared.status()));
  std::shared_ptr<Prepared> p(std::move(*prepared));
  const std::string run_id = NewRunId();
  if (p->plan.options.execute) {
    // One run per host: refuse before anything changes, naming the run that holds it.
    std::vector<std::string> hosts;
    for (const auto& [host, units] : p->plan.host_units) hosts.push_back(host);
    if (absl::Status s = deps_.claims->Claim(hosts, run_id); !s.ok()) return Stream::Fail(ToGrpcStatus(s));
  }
  // Only a request's config is journaled; the coordinator's own is read again on recovery.
  if (!p->config_yaml.empty()) deps_.runs->SaveRequestConfig(run_id, p->config_yaml);
  return Stream::Start([this, p, run_id](Stream::Sink& sink) {
    ExecuteRun(*p, run_id, [&sink](v1::RunEvent e) { sink.Push(std::move(e)); });
    return grpc::Status::OK;
  });
}

void CoordinatorService::ExecuteRun(const Prepared& p, const std::string& run_id,
                                    const std::function<void(v1::RunEvent)>& push) {
  auto log = GetLogger("coordinator");
  auto health = CoordinatorProbeRunner(*p.config);
  RunExecutor executor(
      *p.config, p.plan, p.clients, health.get(), deps_.clock,
      [&](v1::RunEvent e) {
        log->info("[run={}]{}{} {}", run_id, e.host().empty() ? "" : "[host=" + e.host() + "]",
                  e.unit().empty() ? "" : "[unit=" + e.unit() + "]", e.message());
        push(std::move(e));
      },
      [this](const v1::Report& r) { deps_.runs->Save(r); });
  v1::Report report = executor.Run(run_id);
  auto path = WriteReport(*p.config, &report);
  if (!path.ok()) report.add_errors(std::string(path.status().message()));
  deps_.runs->Save(report);
  deps_.claims->Release(run_id);
  v1::RunEvent last;
  last.set_elapsed_us((report.finished_at_unix_us() - report.started_at_unix_us()));
  last.set_message(path.ok() ? "report written to " + *path : "report NOT written: " + std::string(path.status().message()));
  last.set_level(path.ok() ? v1::SEVERITY_INFO : v1::SEVERITY_ERROR);
  last.set_severity(SeverityWord(last.level()));
  *last.mutable_report() = std::move(report);
  push(std::move(last));
}

grpc::ServerUnaryReactor* CoordinatorService::GetReport(grpc::CallbackServerContext* ctx,
                                                        const v1::GetReportRequest* req, v1::Report* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  auto report = deps_.runs->Get(req->run_id());
  if (!report.ok()) return FinishNow(ctx, report.status());
  *resp = std::move(*report);
  return FinishNow(ctx, absl::OkStatus());
}

void CoordinatorService::RecoverInterruptedRuns() {
  RecoveryDeps deps;
  deps.runs = deps_.runs;
  deps.agents = deps_.agents;
  deps.clock = deps_.clock;
  deps.config_for = [this](const std::string& yaml, const std::string& path) {
    std::shared_ptr<const Config> own = deps_.config != nullptr ? deps_.config->Get() : nullptr;
    return ConfigForRequest(own.get(), yaml, path);
  };
  deps.write_report = [this](const Config& config, v1::Report* report) { return WriteReport(config, report); };
  coordinator::RecoverInterruptedRuns(deps);
}

}  // namespace failover::coordinator
