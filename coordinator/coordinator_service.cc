#include "coordinator_service.h"

#include <mutex>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/availability.h"
#include "coordinator/plan_preview.h"
#include "coordinator/report_writer.h"
#include "coordinator/run_executor.h"
#include "coordinator/run_recovery.h"
#include "coordinator/deadline_watch.h"
#include "coordinator/run_notices.h"
#include "coordinator/wire_enums.h"
#include "failover/event_stream.h"
#include "failover/logging.h"
#include "failover/worker_pool.h"
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
  WorkerPool::Shared().Run([reactor, work = std::move(work)] {
    work();
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

// The coordinator's own probe runner (global health check), holding the check's token by name.
std::unique_ptr<ProbeRunner> CoordinatorProbeRunner(const Config& config) {
  std::map<std::string, std::string> secrets;
  if (!config.health_check.token.empty()) secrets[kHealthCheckSecret] = config.health_check.token;
  return std::make_unique<LocalProbeRunner>("coordinator", secrets, nullptr, RealClock::Get());
}

constexpr size_t kMaxConfigBytes = 1 << 20;

// Who called, for the report: the certificate name over TCP, else the unix socket.
std::string CallerName(const grpc::ServerContextBase& ctx) {
  const std::string cert = PeerIdentity(ctx);
  if (!cert.empty()) return "certificate \"" + cert + "\"";
  return "unix socket";  // gRPC's peer string carries no SO_PEERCRED; the socket's mode vetted the caller
}

// Like FinishLater, for work that answers with a status (the history may wait on its lock).
grpc::ServerUnaryReactor* FinishLaterWith(grpc::CallbackServerContext* ctx, std::function<absl::Status()> work) {
  auto* reactor = ctx->DefaultReactor();
  WorkerPool::Shared().Run([reactor, work = std::move(work)] { reactor->Finish(ToGrpcStatus(work())); });
  return reactor;
}

absl::Status NoHistory() {
  return absl::FailedPreconditionError(
      "the coordinator keeps no run history: start it with --state-dir DIR (the history is DIR/history.sqlite)");
}

void ToWire(const HistoryRun& r, v1::HistoryRun* out) {
  out->set_run_id(r.run_id);
  out->set_started_at_unix_us(r.started_unix_us);
  out->set_finished_at_unix_us(r.finished_unix_us);
  out->set_outcome(r.outcome);
  out->set_dry_run(r.dry_run);
  for (const auto& s : r.services) out->add_services(s);
  out->set_max_downtime_us(r.max_downtime_us);
  out->set_summary(r.summary);
  out->set_kind(r.kind);
}

// Forwards to the journal and records every final report in the history (runs recovered after a crash).
class HistoryRecordingRunStore : public RunStore {
 public:
  HistoryRecordingRunStore(RunStore* runs, std::function<void(v1::Report*)> record)
      : runs_(runs), record_(std::move(record)) {}
  void Save(const v1::Report& report) override {
    v1::Report r = report;
    if (r.outcome() != v1::RUN_RUNNING) record_(&r);
    runs_->Save(r);
  }
  void SaveRequestConfig(const std::string& id, const std::string& yaml) override { runs_->SaveRequestConfig(id, yaml); }
  std::string RequestConfig(const std::string& id) override { return runs_->RequestConfig(id); }
  absl::StatusOr<v1::Report> Get(const std::string& id) override { return runs_->Get(id); }
  std::vector<v1::Report> Interrupted() override { return runs_->Interrupted(); }

 private:
  RunStore* runs_;
  std::function<void(v1::Report*)> record_;
};

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

absl::Status CoordinatorService::Authorize(const grpc::ServerContextBase& ctx) const {
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
  if (absl::Status s = ApplyCallerApiBase(req.api_base(), req.api_token(), &*config); !s.ok()) {
    // Audited here: who asked for which URL is the coordinator's to remember, not only the caller's.
    GetLogger("coordinator")->warn("refused a request's API base: {}", Redact(std::string(s.message())));
    return s;
  }
  if (!req.api_base().empty())
    GetLogger("coordinator")->info("a request brings its own API base {} ({} token); health check: {}", req.api_base(),
                                   req.api_token().empty() ? "no" : "with its", config->health_check.url);
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

grpc::Status CoordinatorService::Run(grpc::ServerContext* ctx, const v1::RunRequest* req,
                                     grpc::ServerWriter<v1::RunEvent>* writer) {
  using Stream = EventStream<v1::RunEvent>;
  if (absl::Status s = Authorize(*ctx); !s.ok()) return ToGrpcStatus(s);
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return ToGrpcStatus(prepared.status());
  std::shared_ptr<Prepared> p(std::move(*prepared));
  if (absl::Status s = CheckWindow(*req, *ctx, p.get()); !s.ok()) return ToGrpcStatus(s);
  const std::string run_id = NewRunId();
  if (absl::Status s = Register(run_id); !s.ok()) return ToGrpcStatus(s);
  if (p->plan.options.execute) {
    // One run per host: refuse before anything changes, naming the run that holds it.
    std::vector<std::string> hosts;
    for (const auto& [host, units] : p->plan.host_units) hosts.push_back(host);
    if (absl::Status s = deps_.claims->Claim(hosts, run_id); !s.ok()) {
      RecordRefused(*p, run_id, s);
      Unregister(run_id);
      return ToGrpcStatus(s);
    }
  }
  // Only a request's config is journaled; the coordinator's own is read again on recovery.
  if (!p->config_yaml.empty()) deps_.runs->SaveRequestConfig(run_id, p->config_yaml);
  return Stream::Serve(ctx, writer, [this, p, run_id](Stream::Sink& sink) {
    ExecuteRun(*p, run_id, [&sink](v1::RunEvent e) {
      // The event that carries the report is the run's last (FinishRun): it goes out with the status.
      if (e.has_report()) sink.PushLast(std::move(e));
      else sink.Push(std::move(e));
    });
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
        e.set_run_id(run_id);
        push(std::move(e));
      },
      [this](const v1::Report& r) { deps_.runs->Save(r); });
  AnnounceAndWait(p, run_id, push);
  std::optional<DeadlineWatch> window_end;
  if (p.window.stop_at)
    window_end.emplace(*p.window.stop_at, [this, run_id, why = p.window.stop_reason] {
      StopRun(run_id, why, "the maintenance window (on_window_end: stop)");
    });
  // What users saw: the global health check, polled on its own thread while an executed run runs.
  std::unique_ptr<ProbeRunner> poll_runner;
  std::unique_ptr<AvailabilityPoller> poller;
  if (p.plan.options.execute && p.config->health_check.enabled) {
    poll_runner = CoordinatorProbeRunner(*p.config);
    poller = std::make_unique<AvailabilityPoller>(poll_runner.get(), HealthCheckProbe(p.config->health_check),
                                                  p.config->health_check.availability_interval_ms, deps_.clock);
    poller->Start();
  }
  AttachExecutor(run_id, &executor);
  v1::Report report = executor.Run(run_id);
  AttachExecutor(run_id, nullptr);
  window_end.reset();
  if (poller) *report.mutable_availability() = poller->Stop();
  FinishRun(p, run_id, std::move(report), /*announce=*/true, push);
}

void CoordinatorService::FinishRun(const Prepared& p, const std::string& run_id, v1::Report report, bool announce,
                                   const std::function<void(v1::RunEvent)>& push) {
  report.set_stopped_by(StoppedBy(run_id));
  report.set_maintenance_window(p.window.note);
  auto path = WriteReport(*p.config, &report);
  if (!path.ok()) {
    // The run's outcome stands; its evidence lives only in the run store (failoverctl report).
    report.clear_files();
    report.set_files_error(std::string(path.status().message()));
    report.add_errors("report files NOT written: " + report.files_error());
  }
  RecordHistory(&report);
  deps_.runs->Save(report);
  deps_.claims->Release(run_id);
  v1::RunEvent last;
  last.set_run_id(run_id);
  last.set_elapsed_us((report.finished_at_unix_us() - report.started_at_unix_us()));
  last.set_message(path.ok() ? "report written to " + *path
                             : "report files NOT written (the report is kept by the coordinator: failoverctl report " +
                                   run_id + "): " + report.files_error());
  last.set_level(path.ok() ? v1::SEVERITY_INFO : v1::SEVERITY_ERROR);
  last.set_severity(SeverityWord(last.level()));
  if (announce) AnnounceEnd(deps_.notifier, *p.config, report);
  *last.mutable_report() = std::move(report);
  push(std::move(last));
  Unregister(run_id);  // only now: a drain waits until the report is out
}

absl::Status CoordinatorService::CheckWindow(const v1::RunRequest& req, const grpc::ServerContextBase& ctx,
                                             Prepared* p) {
  p->scheduled = req.scheduled();
  if (!p->plan.options.execute) return absl::OkStatus();
  p->window = DecideWindow(*p->config, absl::FromUnixMicros(deps_.clock->NowUnixUs()), true, req.force());
  if (p->window.note.empty()) return absl::OkStatus();
  auto log = GetLogger("coordinator");
  if (!p->window.allowed) {
    log->warn("[audit] executed run by {} refused: {}", CallerName(ctx), p->window.note);
    return absl::FailedPreconditionError(p->window.note);
  }
  if (req.force()) log->warn("[audit] executed run by {}: {}", CallerName(ctx), p->window.note);
  return absl::OkStatus();
}

void CoordinatorService::AnnounceAndWait(const Prepared& p, const std::string& run_id,
                                         const std::function<void(v1::RunEvent)>& push) {
  if (!p.plan.options.execute || deps_.notifier == nullptr || p.config->notifications.empty()) return;
  const uint32_t lead_ms = StartLeadTimeMs(*p.config, p.scheduled);
  const std::string services = absl::StrJoin(p.plan.services, ",");
  AnnounceStart(deps_.notifier, *p.config, run_id, services,
                lead_ms == 0 ? "starting now" : absl::StrCat("starts in ", lead_ms / 1000.0, " s (scheduled run)"));
  if (lead_ms == 0) return;
  v1::RunEvent e;
  e.set_run_id(run_id);
  e.set_message(absl::StrCat("notice sent; acting in ", lead_ms / 1000.0, " s (notification lead time)"));
  e.set_level(v1::SEVERITY_INFO);
  e.set_severity(SeverityWord(e.level()));
  GetLogger("coordinator")->info("[run={}] {}", run_id, e.message());
  push(std::move(e));
  // Woken by StopLocked (abort, SIGTERM, the window's end) the moment a stop comes, not by polling.
  std::unique_lock<std::mutex> lock(active_mu_);
  stop_cv_.wait_for(lock, std::chrono::milliseconds(lead_ms), [&] {
    auto it = active_.find(run_id);
    return it == active_.end() || !it->second.stop_why.empty();
  });
}

void CoordinatorService::StopRun(const std::string& run_id, const std::string& why, const std::string& who) {
  std::lock_guard<std::mutex> lock(active_mu_);
  auto it = active_.find(run_id);
  if (it != active_.end()) StopLocked(&it->second, why, who);
}

absl::Status CoordinatorService::Register(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(active_mu_);
  if (!draining_.empty())
    return absl::UnavailableError(absl::StrCat("the coordinator is stopping (", draining_, "); no new runs"));
  active_[run_id];
  return absl::OkStatus();
}

void CoordinatorService::AttachExecutor(const std::string& run_id, RunExecutor* executor) {
  std::lock_guard<std::mutex> lock(active_mu_);
  auto it = active_.find(run_id);
  if (it == active_.end()) return;
  it->second.executor = executor;
  if (executor != nullptr && !it->second.stop_why.empty()) executor->RequestStop(it->second.stop_why);
}

std::string CoordinatorService::StoppedBy(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(active_mu_);
  auto it = active_.find(run_id);
  return it == active_.end() ? "" : it->second.stopped_by;
}

void CoordinatorService::Unregister(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(active_mu_);
  active_.erase(run_id);
  idle_cv_.notify_all();
}

void CoordinatorService::StopLocked(ActiveRun* run, const std::string& why, const std::string& who) {
  if (!run->stop_why.empty()) return;  // the first stop wins
  run->stop_why = why;
  run->stopped_by = who;
  stop_cv_.notify_all();  // a run waiting out its notice lead time (AnnounceAndWait)
  if (run->executor != nullptr) run->executor->RequestStop(why);
}

void CoordinatorService::Drain(const std::string& why) {
  std::lock_guard<std::mutex> lock(active_mu_);
  draining_ = why;
  const std::string when = FormatUnixUs(deps_.clock->NowUnixUs());
  for (auto& [id, run] : active_) StopLocked(&run, why, "the coordinator itself (graceful stop) at " + when);
}

bool CoordinatorService::WaitIdle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock<std::mutex> lock(active_mu_);
  return idle_cv_.wait_until(lock, deadline, [this] { return active_.empty(); });
}

absl::StatusOr<std::string> CoordinatorService::RequestAbort(std::string* run_id, const std::string& who) {
  std::lock_guard<std::mutex> lock(active_mu_);
  if (run_id->empty() && active_.size() != 1)
    return absl::FailedPreconditionError(absl::StrCat(active_.size(), " run(s) in progress: name the run to abort"));
  auto it = run_id->empty() ? active_.begin() : active_.find(*run_id);
  if (it == active_.end())
    return absl::NotFoundError(absl::StrCat("run ", *run_id, " is not in progress in this coordinator"));
  *run_id = it->first;
  const std::string when = FormatUnixUs(deps_.clock->NowUnixUs());
  const std::string by = absl::StrCat(who, " at ", when);
  StopLocked(&it->second, absl::StrCat("aborted by ", by, " (failoverctl abort)"), by);
  return absl::StrCat("abort of run ", it->first, " requested by ", by,
                      "; it stops at its next safe point and restores what it changed");
}

grpc::ServerUnaryReactor* CoordinatorService::Abort(grpc::CallbackServerContext* ctx, const v1::AbortRequest* req,
                                                    v1::AbortResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  std::string run_id = req->run_id();
  auto msg = RequestAbort(&run_id, CallerName(*ctx));
  if (!msg.ok()) return FinishNow(ctx, msg.status());
  resp->set_run_id(run_id);
  resp->set_message(*msg);
  return FinishNow(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* CoordinatorService::GetReport(grpc::CallbackServerContext* ctx,
                                                        const v1::GetReportRequest* req, v1::Report* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  const std::string id = req->run_id();
  return FinishLaterWith(ctx, [this, id, resp]() -> absl::Status {
    // The latest run is the history's (it survives restarts); a given run is the journal's first
    // (a run in progress is only there), then the history's.
    absl::StatusOr<v1::Report> report = absl::NotFoundError("");
    if (id.empty() && deps_.history != nullptr) report = deps_.history->Get("");
    if (!report.ok()) report = deps_.runs->Get(id);
    if (!report.ok() && !id.empty() && deps_.history != nullptr) {
      auto from_history = deps_.history->Get(id);
      if (from_history.ok() || from_history.status().code() != absl::StatusCode::kNotFound) report = from_history;
    }
    if (!report.ok()) return report.status();
    *resp = std::move(*report);
    resp->clear_publications();
    AddPublications(resp->run_id(), resp->mutable_publications());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::ListRuns(grpc::CallbackServerContext* ctx,
                                                       const v1::HistoryListRunsRequest* req,
                                                       v1::HistoryListRunsResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  if (deps_.history == nullptr) return FinishNow(ctx, NoHistory());
  HistoryFilter filter;
  filter.since_unix_us = req->since_unix_us();
  filter.service = req->service();
  if (req->outcome() != v1::RUN_OUTCOME_UNSPECIFIED) filter.outcome = req->outcome();
  filter.limit = req->limit() == 0 ? 1000 : std::min<uint32_t>(req->limit(), 100000);
  return FinishLaterWith(ctx, [this, filter, resp]() -> absl::Status {
    auto runs = deps_.history->List(filter);
    if (!runs.ok()) return runs.status();
    for (const auto& r : *runs) {
      auto* out = resp->add_runs();
      ToWire(r, out);
      AddPublications(r.run_id, out->mutable_publications());
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::Trends(grpc::CallbackServerContext* ctx,
                                                     const v1::HistoryTrendsRequest* req,
                                                     v1::HistoryTrendsResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  if (deps_.history == nullptr) return FinishNow(ctx, NoHistory());
  const uint32_t last = req->last() == 0 ? 20 : std::min<uint32_t>(req->last(), 100000);
  return FinishLaterWith(ctx, [this, last, resp]() -> absl::Status {
    auto trends = deps_.history->Trends(last);
    if (!trends.ok()) return trends.status();
    resp->set_last(last);
    for (const auto& t : *trends) {
      auto* out = resp->add_services();
      out->set_service(t.service);
      out->set_runs(t.runs);
      out->set_failures(t.failures);
      out->set_failure_rate(t.failure_rate);
      out->set_median_downtime_us(t.median_downtime_us);
      out->set_max_downtime_us(t.max_downtime_us);
    }
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* CoordinatorService::Publish(grpc::CallbackServerContext* ctx, const v1::PublishRequest* req,
                                                      v1::PublishResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  if (deps_.publisher == nullptr) return FinishNow(ctx, NoHistory());
  const auto wait = std::chrono::milliseconds(req->wait_ms() == 0 ? 10000 : std::min<uint32_t>(req->wait_ms(), 60000));
  return FinishLaterWith(ctx, [this, run_id = req->run_id(), name = req->destination(), who = CallerName(*ctx), wait,
                               resp]() -> absl::Status {
    auto e = deps_.publisher->Request(run_id, name, who, wait);
    if (!e.ok()) return e.status();
    *resp->mutable_status() = ToWire(*e);
    return absl::OkStatus();
  });
}

void CoordinatorService::AddPublications(const std::string& run_id,
                                         google::protobuf::RepeatedPtrField<v1::PublishStatus>* out) const {
  if (deps_.history == nullptr || run_id.empty()) return;
  auto entries = deps_.history->Publications(run_id);
  if (!entries.ok()) {
    GetLogger("coordinator")->warn("publications of run {} not read: {}", run_id, entries.status().message());
    return;
  }
  for (const auto& e : *entries) *out->Add() = ToWire(e);
}

void CoordinatorService::RecordHistory(v1::Report* report) {
  if (deps_.on_run_end) deps_.on_run_end(*report);
  if (deps_.history == nullptr) return;
  if (absl::Status s = deps_.history->Insert(*report); !s.ok()) {
    GetLogger("coordinator")->error("run {} not recorded in the history: {}", report->run_id(), s.message());
    report->add_errors(absl::StrCat("run NOT recorded in the history: ", s.message()));
  }
}

void CoordinatorService::RecordRefused(const Prepared& p, const std::string& run_id, const absl::Status& why) {
  v1::Report r;
  r.set_run_id(run_id);
  r.set_dry_run(!p.plan.options.execute);
  r.set_started_at_unix_us(deps_.clock->NowUnixUs());
  r.set_finished_at_unix_us(r.started_at_unix_us());
  r.set_outcome(v1::RUN_REFUSED);
  r.set_summary(absl::StrCat("REFUSED: ", why.message()));
  for (const auto& s : p.plan.services) r.add_services(s);
  RecordHistory(&r);
}

void CoordinatorService::RecoverInterruptedRuns() {
  HistoryRecordingRunStore runs(deps_.runs, [this](v1::Report* r) { RecordHistory(r); });
  RecoveryDeps deps;
  deps.runs = &runs;
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
