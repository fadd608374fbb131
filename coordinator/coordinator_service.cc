#include "coordinator_service.h"

#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/grpc_agent_client.h"
#include "coordinator/report_writer.h"
#include "coordinator/run_executor.h"
#include "failover/event_stream.h"
#include "failover/logging.h"
#include "common/probe_runner.h"
#include "failover/tls.h"
#include "google/protobuf/util/json_util.h"

namespace failover::coordinator {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string NewRunId() {
  static std::mt19937_64 rng{std::random_device{}()};
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  return absl::StrFormat("%s-%04x", CompactUtcStamp(RealClock::Get()->NowUnixUs()), rng() & 0xffff);
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* ctx, const absl::Status& s) {
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(ToGrpcStatus(s));
  return reactor;
}

std::unique_ptr<ProbeRunner> CoordinatorProbeRunner(const Config& config) {
  std::map<std::string, std::string> secrets;
  if (!config.health_check.token.empty()) secrets[kHealthCheckSecret] = config.health_check.token;
  return std::make_unique<LocalProbeRunner>("coordinator", secrets, nullptr, RealClock::Get());
}

constexpr size_t kMaxConfigBytes = 1 << 20;

}  // namespace

absl::Status CoordinatorService::Authorize(const grpc::CallbackServerContext& ctx) const {
  const std::string who = PeerIdentity(ctx);
  if (who.empty() || options_.allowed_clients.empty()) return absl::OkStatus();
  for (const auto& allowed : options_.allowed_clients)
    if (allowed == who) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("client \"", who, "\" is not in the coordinator's --allowed-clients"));
}

std::string CoordinatorService::ReportsDir(const Config& config) const {
  return options_.reports_dir.empty() ? config.reports_dir : options_.reports_dir;
}

absl::StatusOr<Config> CoordinatorService::LoadConfig(const std::string& request_yaml,
                                                      const std::string& request_path) const {
  std::optional<Config> own;
  if (!options_.default_config_path.empty()) {
    auto text = ReadFile(options_.default_config_path);
    if (!text.ok()) return absl::InvalidArgumentError(std::string(text.status().message()));
    auto parsed = ParseConfigWithProcessEnv(*text, options_.default_config_path);
    if (!parsed.ok()) return parsed.status();
    own = std::move(*parsed);
  }
  if (request_yaml.empty()) {
    if (!own) return absl::InvalidArgumentError("no config given (-c) and the coordinator has no --config");
    return std::move(*own);
  }
  auto config = ParseConfigWithProcessEnv(request_yaml, request_path, ConfigSource::kRequest);
  if (!config.ok()) return config.status();
  if (!own)
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

absl::StatusOr<std::unique_ptr<CoordinatorService::Prepared>> CoordinatorService::Prepare(const v1::RunRequest& req) {
  auto p = std::make_unique<Prepared>();
  std::string path = req.config_path().empty() ? "<request>" : req.config_path();
  if (req.config_yaml().size() > kMaxConfigBytes)
    return absl::InvalidArgumentError(absl::StrCat(path, ": config is larger than 1 MiB"));
  if (req.services_size() > 256) return absl::InvalidArgumentError("--services: at most 256 services");
  auto config = LoadConfig(req.config_yaml(), path);
  if (!config.ok()) return config.status();
  p->config_yaml = req.config_yaml();
  p->from_request = !req.config_yaml().empty();
  p->config = std::make_shared<Config>(std::move(*config));
  auto options = ResolveOptions(*p->config, {req.services().begin(), req.services().end()}, req.mode(),
                                req.failure_policy(), req.max_parallel(), req.execute());
  if (!options.ok()) return options.status();
  auto plan = BuildPlan(*p->config, *options);
  if (!plan.ok()) return plan.status();
  p->plan = std::move(*plan);
  for (const auto& h : p->config->hosts) {
    auto c = GrpcAgentClient::Create(*p->config, h);
    if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": tls: ", c.status().message()));
    p->clients[h.name] = std::move(*c);
  }
  return p;
}

grpc::ServerUnaryReactor* CoordinatorService::Plan(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                                   v1::PlanResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return FinishNow(ctx, prepared.status());
  auto* reactor = ctx->DefaultReactor();
  std::thread([reactor, resp, p = std::shared_ptr<Prepared>(std::move(*prepared))] {
    for (const auto& s : p->plan.steps) *resp->add_steps() = ToStepRecord(s);
    resp->set_mode(ModeName(p->plan.options.mode));
    for (const auto& s : p->plan.services) resp->add_services(s);
    for (const auto& [host, units] : p->plan.host_units) {
      v1::GetStateRequest sreq;
      for (const auto& u : units) sreq.add_units(u);
      auto st = p->clients.at(host)->GetState(sreq);
      if (!st.ok()) {
        (*resp->mutable_unreachable_hosts())[host] = std::string(st.status().message());
        continue;
      }
      for (const auto& u : st->units()) *resp->add_current_state() = u;
      if (!st->held_by_run().empty()) (*resp->mutable_held_by_run())[host] = st->held_by_run();
      for (const auto& op : st->autonomous_operations()) *resp->add_agent_actions() = op;
    }
    reactor->Finish(grpc::Status::OK);
  }).detach();
  return reactor;
}

void CoordinatorService::Journal(const v1::Report& report) {
  if (options_.state_dir.empty()) return;
  const std::string dir = options_.state_dir + "/runs";
  const std::string path = dir + "/" + report.run_id() + ".json";
  std::ofstream out(path + ".tmp", std::ios::trunc);
  out << RenderJson(report);
  out.close();
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
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
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [host, units] : p->plan.host_units) {
      auto it = busy_hosts_.find(host);
      if (it != busy_hosts_.end())
        return Stream::Fail(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                         absl::StrCat("host ", host, " is already in run ", it->second,
                                                      "; refusing to start a second run on it")));
    }
    for (const auto& [host, units] : p->plan.host_units) busy_hosts_[host] = run_id;
  }
  if (!options_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options_.state_dir + "/runs", ec);
    // Only a request's config is journaled; the coordinator's own is read again on recovery.
    if (p->from_request) std::ofstream(options_.state_dir + "/runs/" + run_id + ".config.yaml") << p->config_yaml;
  }
  return Stream::Start([this, p, run_id](Stream::Sink& sink) {
    auto log = GetLogger("coordinator");
    std::map<std::string, AgentClient*> clients;
    for (auto& [h, c] : p->clients) clients[h] = c.get();
    auto health = CoordinatorProbeRunner(*p->config);
    RunExecutor executor(
        *p->config, p->plan, clients, health.get(), RealClock::Get(),
        [&sink, &log, &run_id](v1::RunEvent e) {
          log->info("[run={}]{}{} {}", run_id, e.host().empty() ? "" : "[host=" + e.host() + "]",
                    e.unit().empty() ? "" : "[unit=" + e.unit() + "]", e.message());
          sink.Push(std::move(e));
        },
        [this](const v1::Report& r) { Journal(r); });
    v1::Report report = executor.Run(run_id);
    auto path = WriteReportFiles(ReportsDir(*p->config), &report);
    if (!path.ok()) report.add_errors(std::string(path.status().message()));
    Journal(report);
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = busy_hosts_.begin(); it != busy_hosts_.end();)
        it = it->second == run_id ? busy_hosts_.erase(it) : std::next(it);
      reports_[run_id] = report;
      latest_run_ = run_id;
    }
    v1::RunEvent last;
    last.set_elapsed_us((report.finished_at_unix_us() - report.started_at_unix_us()));
    last.set_message(path.ok() ? "report written to " + *path : "report NOT written: " + std::string(path.status().message()));
    last.set_severity(path.ok() ? "info" : "error");
    *last.mutable_report() = std::move(report);
    sink.Push(std::move(last));
    return grpc::Status::OK;
  });
}

grpc::ServerUnaryReactor* CoordinatorService::GetReport(grpc::CallbackServerContext* ctx,
                                                        const v1::GetReportRequest* req, v1::Report* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  std::lock_guard<std::mutex> lock(mu_);
  const std::string id = req->run_id().empty() ? latest_run_ : req->run_id();
  auto it = reports_.find(id);
  if (it != reports_.end()) {
    *resp = it->second;
    return FinishNow(ctx, absl::OkStatus());
  }
  // Reports of earlier coordinator processes live in the journal.
  if (!options_.state_dir.empty() && !id.empty() && id.find('/') == std::string::npos) {
    auto text = ReadFile(options_.state_dir + "/runs/" + id + ".json");
    if (text.ok() && google::protobuf::util::JsonStringToMessage(*text, resp).ok())
      return FinishNow(ctx, absl::OkStatus());
  }
  return FinishNow(ctx, absl::NotFoundError(id.empty() ? "no run yet" : "no report for run " + id));
}

grpc::ServerUnaryReactor* CoordinatorService::Health(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                                     v1::HealthResponse* resp) {
  if (absl::Status s = Authorize(*ctx); !s.ok()) return FinishNow(ctx, s);
  auto prepared = Prepare(*req);
  if (!prepared.ok()) return FinishNow(ctx, prepared.status());
  auto* reactor = ctx->DefaultReactor();
  std::thread([reactor, resp, p = std::shared_ptr<Prepared>(std::move(*prepared))] {
    bool healthy = true;
    auto probe_on = [&](const std::string& host, const std::string& name, const std::vector<v1::ProbeSpec>& probes) {
      v1::ProbeRequest preq;
      for (const auto& pr : probes) *preq.add_probes() = pr;
      auto r = p->clients.at(host)->Probe(preq, std::chrono::seconds(60));
      if (!r.ok()) {
        auto* res = resp->add_results();
        res->set_host(host);
        res->set_name(name);
        res->set_detail(std::string(r.status().message()));
        healthy = false;
        return;
      }
      for (const auto& res : r->results()) {
        healthy = healthy && res.healthy();
        *resp->add_results() = res;
      }
    };
    // Every service's probes on every host that runs it, then the guards, then the global check.
    for (const auto& name : p->plan.services) {
      const ServiceConfig* svc = p->config->FindService(name);
      if (svc->probes.empty()) continue;
      for (const auto& h : p->config->hosts)
        if (std::find(h.units.begin(), h.units.end(), svc->unit) != h.units.end()) probe_on(h.name, name, svc->probes);
    }
    for (const auto& g : p->config->guards) probe_on(g.host, g.probe.name(), {g.probe});
    if (p->config->health_check.enabled) {
      v1::ProbeSpec spec = HealthCheckProbe(p->config->health_check);
      spec.set_deadline_ms(spec.timeout_ms());  // a health query answers now; it does not wait
      auto r = CoordinatorProbeRunner(*p->config)->Run(spec);
      healthy = healthy && r.healthy();
      *resp->add_results() = r;
    }
    resp->set_healthy(healthy);
    reactor->Finish(grpc::Status::OK);
  }).detach();
  return reactor;
}

namespace {

// Rewrites a journal snapshot of a run whose coordinator died as an interrupted run.
void MarkInterrupted(v1::Report* report) {
  report->set_outcome(v1::RUN_INTERRUPTED);
  std::string running_step;
  for (auto& s : *report->mutable_steps()) {
    if (s.status() == v1::STEP_RUNNING) {
      running_step = s.id();
      s.set_status(v1::STEP_FAILED);
      s.set_reason("interrupted: the coordinator stopped during this step");
    } else if (s.status() == v1::STEP_NOT_RUN) {
      s.set_reason("not run: the coordinator stopped before this step");
    }
  }
  report->set_summary(absl::StrCat("INTERRUPTED: the coordinator stopped during the run",
                                   running_step.empty() ? "" : " (in step " + running_step + ")",
                                   "; the agents finish their step and restore units they held when the lease expires"));
}

// Asks each host's agent how its units are now and what it did on its own for the run; waits
// (up to two half-leases) while an agent still holds the run, so its own restores are included.
void ReconcileWithAgents(const Config& config, v1::Report* report) {
  std::map<std::string, std::vector<std::string>> units;
  for (const auto& st : report->initial_state()) units[st.host()].push_back(st.unit());
  for (const auto& [host, list] : units) {
    const HostConfig* h = config.FindHost(host);
    if (h == nullptr) continue;
    auto client = GrpcAgentClient::Create(config, *h);
    if (!client.ok()) continue;
    v1::GetStateRequest req;
    for (const auto& u : list) req.add_units(u);
    absl::StatusOr<v1::GetStateResponse> st = (*client)->GetState(req);
    for (int wait = 0; wait < 2 && st.ok() && st->held_by_run() == report->run_id(); ++wait) {
      std::this_thread::sleep_for(std::chrono::milliseconds(config.defaults.lease_ms / 2));
      st = (*client)->GetState(req);
    }
    if (!st.ok()) {
      report->add_errors(absl::StrCat("reconcile: ", st.status().message()));
      continue;
    }
    AddAgentState(*st, report);
  }
}

}  // namespace

void CoordinatorService::RecoverInterruptedRuns() {
  if (options_.state_dir.empty()) return;
  std::error_code ec;
  const std::string dir = options_.state_dir + "/runs";
  if (!std::filesystem::is_directory(dir, ec)) return;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = ReadFile(entry.path().string());
    v1::Report report;
    if (!text.ok() || !google::protobuf::util::JsonStringToMessage(*text, &report).ok()) continue;
    if (report.outcome() == v1::RUN_RUNNING) {
      MarkInterrupted(&report);
      auto yaml = ReadFile(dir + "/" + report.run_id() + ".config.yaml");  // only runs with -c have one
      auto config = LoadConfig(yaml.ok() ? *yaml : "", report.config_path());
      if (config.ok()) ReconcileWithAgents(*config, &report);
      else report.add_errors(absl::StrCat("reconcile: ", config.status().message()));
      report.set_finished_at_unix_us(RealClock::Get()->NowUnixUs());
      auto written = WriteReportFiles(ReportsDir(config.ok() ? *config : Config{}), &report);
      if (!written.ok()) report.add_errors(std::string(written.status().message()));
      Journal(report);
      GetLogger("coordinator")->warn("run {} was interrupted; report {}", report.run_id(),
                                     written.ok() ? *written : "not written");
    }
    std::lock_guard<std::mutex> lock(mu_);
    reports_[report.run_id()] = report;
    if (report.outcome() == v1::RUN_INTERRUPTED) latest_run_ = report.run_id();
  }
}

}  // namespace failover::coordinator
