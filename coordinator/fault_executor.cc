#include "coordinator/fault_executor.h"

#include <algorithm>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "coordinator/gate_plan.h"
#include "coordinator/gate_runner.h"
#include "coordinator/run_executor.h"
#include "coordinator/wire_enums.h"

namespace failover::coordinator {
namespace {

std::string MsText(int64_t us) { return absl::StrCat(us / 1000, ".", (us % 1000) / 100, " ms"); }

}  // namespace

void ComputeFaultTimes(v1::FaultRecord* r) {
  const int64_t at = r->injected_at_unix_us();
  r->set_time_to_detect_us(at > 0 && r->detected_at_unix_us() >= at ? r->detected_at_unix_us() - at : 0);
  r->set_mttr_us(at > 0 && r->recovered_at_unix_us() >= at ? r->recovered_at_unix_us() - at : 0);
}

FaultExecutor::FaultExecutor(const Config& config, FaultRunOptions options, std::map<std::string, AgentClient*> clients,
                             ProbeRunner* coordinator_probes, Clock* clock, EmitFn emit, FailoverFn failover,
                             StopFn stop)
    : config_(config),
      options_(std::move(options)),
      clients_(std::move(clients)),
      coordinator_probes_(coordinator_probes),
      clock_(clock),
      emit_(std::move(emit)),
      failover_(std::move(failover)),
      stop_(std::move(stop)) {}

void FaultExecutor::Emit(const std::string& host, const std::string& unit, const std::string& msg,
                         v1::EventSeverity level) {
  v1::RunEvent e;
  e.set_elapsed_us(std::chrono::duration_cast<std::chrono::microseconds>(clock_->Now() - start_).count());
  e.set_host(host);
  e.set_unit(unit);
  e.set_step_id(options_.kind == v1::RUN_KIND_CHAOS ? "chaos" : "inject");
  e.set_message(msg);
  e.set_level(level);
  e.set_severity(SeverityWord(level));
  e.set_run_id(run_id_);
  emit_(std::move(e));
}

void FaultExecutor::Begin(const std::string& run_id) {
  run_id_ = run_id;
  start_ = clock_->Now();
  report_.set_run_id(run_id);
  report_.set_kind(options_.kind);
  report_.set_mode(options_.kind == v1::RUN_KIND_CHAOS ? "chaos" : "inject");
  report_.set_dry_run(!options_.execute);
  report_.set_config_path(config_.path);
  report_.set_started_at_unix_us(clock_->NowUnixUs());
  report_.set_outcome(v1::RUN_RUNNING);
  for (const auto& s : options_.services) report_.add_services(s);
  if (options_.kind == v1::RUN_KIND_CHAOS) {
    report_.set_chaos_seed(options_.seed);
    report_.set_chaos_rounds(static_cast<uint32_t>(options_.picks.size()));
    report_.set_chaos_max_down(options_.max_down);
  }
  for (const auto& g : PlanGates(config_, {true, false, false}).during) report_.add_stop_conditions(g.name);
  Emit("", "", absl::StrCat(options_.execute ? "" : "DRY RUN: ", report_.mode(), " run ", run_id, ": ",
                            options_.picks.size(), " fault(s), signal ", KillSignalName(options_.signal),
                            options_.kind == v1::RUN_KIND_CHAOS ? absl::StrCat(", seed ", options_.seed, ", --max-down ",
                                                                                options_.max_down)
                                                                  : ""),
       v1::SEVERITY_INFO);
}

v1::Report FaultExecutor::Run(const std::string& run_id) {
  Begin(run_id);
  for (size_t i = 0; i < options_.picks.size(); ++i) {
    if (!Round(static_cast<uint32_t>(i + 1), options_.picks[i])) break;
    if (options_.pause_ms > 0 && i + 1 < options_.picks.size())
      clock_->SleepFor(std::chrono::milliseconds(options_.pause_ms));
  }
  Conclude();
  return report_;
}

std::string FaultExecutor::StopConditionTripped() {
  std::vector<PlannedGate> gates;
  for (const auto& g : PlanGates(config_, {true, false, false}).during)
    gates.push_back(SinceRunStart(g, report_.started_at_unix_us()));
  if (gates.empty()) return "";
  GateRunner runner(coordinator_probes_, clients_);
  auto results = runner.RunAll(gates, run_id_);
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].healthy()) continue;
    v1::GateTrip* t = report_.mutable_stop_condition();
    t->set_name(gates[i].name);
    t->set_where(gates[i].where);
    t->set_tripped_at_unix_us(results[i].finished_at_unix_us() > 0 ? results[i].finished_at_unix_us()
                                                                    : clock_->NowUnixUs());
    t->set_message(results[i].detail());
    t->set_steps_started(static_cast<uint32_t>(report_.faults_size()));
    return absl::StrCat("stop condition ", gates[i].name, " on ", gates[i].where, " tripped: ", results[i].detail());
  }
  return "";
}

std::string FaultExecutor::ProbeService(const std::string& service, const std::string& host, int64_t* passed_at) {
  const ServiceConfig* svc = config_.FindService(service);
  auto client = clients_.find(host);
  if (svc == nullptr || client == clients_.end()) return "no agent client for host " + host;
  if (svc->probes.empty()) return "";
  v1::ProbeRequest req;
  req.set_run_id(run_id_);
  uint32_t longest = 0;
  for (v1::ProbeSpec p : svc->probes) {
    p.set_deadline_ms(p.timeout_ms());  // one look: the state as it is now
    longest = std::max(longest, p.timeout_ms());
    *req.add_probes() = p;
  }
  auto resp = client->second->Probe(req, std::chrono::milliseconds(longest + 2000));
  if (!resp.ok()) return absl::StrCat("probe on ", host, " failed: ", resp.status().message());
  int64_t last = 0;
  for (const auto& r : resp->results()) {
    if (!r.healthy()) return absl::StrCat("probe ", r.name(), " on ", host, ": ", r.detail());
    last = std::max(last, r.finished_at_unix_us());
  }
  if (passed_at != nullptr) *passed_at = last;
  return "";
}

ChaosWorld FaultExecutor::Look() {
  ChaosWorld world;
  std::map<std::string, std::vector<std::string>> units_by_host;
  std::set<std::pair<std::string, std::string>> service_hosts;
  for (const auto& c : options_.candidates) {
    auto& units = units_by_host[c.host];
    if (std::find(units.begin(), units.end(), c.unit) == units.end()) units.push_back(c.unit);
    service_hosts.insert({c.service, c.host});
  }
  for (const auto& [host, units] : units_by_host) {
    v1::GetStateRequest req;
    req.set_run_id(run_id_);
    for (const auto& u : units) req.add_units(u);
    auto client = clients_.find(host);
    auto st = client == clients_.end() ? absl::UnavailableError("no client") : client->second->GetState(req);
    if (!st.ok()) {
      for (const auto& u : units) world.down.insert({host, u});  // unknown counts as down
      continue;
    }
    for (const auto& u : st->units())
      if (u.active_state() != "active") world.down.insert({host, u.unit()});
  }
  for (const auto& [service, host] : service_hosts) {
    if (world.unhealthy.count(service) != 0) continue;
    std::string why = ProbeService(service, host, nullptr);
    if (!why.empty()) world.unhealthy[service] = why;
  }
  return world;
}

bool FaultExecutor::Round(uint32_t round, const FaultTarget& target) {
  v1::FaultRecord r;
  r.set_round(round);
  r.set_host(target.host);
  r.set_unit(target.unit);
  r.set_service(target.service);
  r.set_signal(KillSignalName(options_.signal));
  r.set_signal_kind(KillSignalToWire(options_.signal));
  r.set_recovered_by(v1::RECOVERED_BY_NOT_INJECTED);
  if (stop_why_.empty()) stop_why_ = stop_();
  if (stop_why_.empty() && options_.execute) stop_why_ = StopConditionTripped();
  if (!stop_why_.empty()) return false;
  // The agent's own checks first (allowlist, caller, host held, unit active), as a dry run: a
  // refusal is the agent's (and audited there), whatever the coordinator's look would say.
  v1::ChaosInjectFaultRequest req;
  req.set_run_id(run_id_);
  req.set_unit(target.unit);
  req.set_signal(KillSignalToWire(options_.signal));
  req.set_dry_run(true);
  auto resp = clients_.at(target.host)->InjectFault(req);
  ChaosWorld world;
  if (resp.ok()) world = Look();
  if (std::string skip = resp.ok() ? BlastRadiusSkip(target, world, options_.max_down) : ""; !skip.empty()) {
    r.set_note(skip);
    Emit(target.host, target.unit, absl::StrCat("round ", round, ": ", skip), v1::SEVERITY_WARN);
    *report_.add_faults() = r;
    return true;
  }
  r.set_down_at_once(static_cast<uint32_t>(world.down.size() + 1));
  if (resp.ok() && options_.execute) {
    req.set_dry_run(false);
    resp = clients_.at(target.host)->InjectFault(req);
  }
  if (!resp.ok()) {
    r.set_note(absl::StrCat("refused by the agent on ", target.host, ": ", resp.status().message()));
    report_.add_errors(absl::StrCat("round ", round, ": ", r.note()));
    Emit(target.host, target.unit, absl::StrCat("round ", round, ": ", r.note()), v1::SEVERITY_ERROR);
    *report_.add_faults() = r;
    return true;
  }
  r.set_n_restarts_before(resp->before().n_restarts());
  r.set_n_restarts_after(resp->before().n_restarts());
  if (!options_.execute) {
    r.set_note(resp->message());
    Emit(target.host, target.unit, absl::StrCat("round ", round, ": ", resp->message()), v1::SEVERITY_INFO);
    *report_.add_faults() = r;
    return true;
  }
  r.set_injected_at_unix_us(resp->sent_at_unix_us());
  Emit(target.host, target.unit, absl::StrCat("round ", round, ": ", resp->message()), v1::SEVERITY_WARN);
  WatchRecovery(target, resp->before(), &r);
  if (r.recovered_by() == v1::RECOVERED_BY_NOT_INJECTED) FailOver(target, &r, false);
  else if (options_.then_failover) FailOver(target, &r, true);
  EndRound(target, &r);
  return true;
}

void FaultExecutor::EndRound(const FaultTarget& target, v1::FaultRecord* r) {
  ComputeFaultTimes(r);
  const bool back = r->recovered_by() == v1::RECOVERED_BY_SYSTEMD_RESTART || r->recovered_by() == v1::RECOVERED_BY_FAILOVER;
  Emit(target.host, target.unit,
       back ? absl::StrCat("round ", r->round(), ": recovered by ", RecoveredByName(r->recovered_by()),
                           "; detected after ", MsText(r->time_to_detect_us()), ", MTTR ", MsText(r->mttr_us()))
            : absl::StrCat("round ", r->round(), ": NOT recovered: ", r->note()),
       back ? v1::SEVERITY_OK : v1::SEVERITY_ERROR);
  *report_.add_faults() = *r;
}

bool FaultExecutor::PollOnce(const FaultTarget& target, const v1::UnitState& before, v1::FaultRecord* r) {
  v1::GetStateRequest req;
  req.set_run_id(run_id_);
  req.add_units(target.unit);
  auto st = clients_.at(target.host)->GetState(req);
  if (!st.ok() || st->units_size() != 1) return false;
  const v1::UnitState& u = st->units(0);
  const bool left = u.active_state() != "active" || u.main_pid() != before.main_pid() ||
                    u.n_restarts() != before.n_restarts();
  r->set_n_restarts_after(u.n_restarts());
  if (left && r->detected_at_unix_us() == 0) {
    r->set_detected_at_unix_us(u.read_at_unix_us());
    Emit(target.host, target.unit,
         absl::StrCat("detected: ", target.unit, " is ", u.active_state(), "/", u.sub_state(), " (main PID ",
                      before.main_pid(), " -> ", u.main_pid(), ", NRestarts ", before.n_restarts(), " -> ",
                      u.n_restarts(), ")"),
         v1::SEVERITY_WARN);
  }
  if (!left || u.active_state() != "active") return false;
  int64_t passed_at = 0;
  if (!ProbeService(target.service, target.host, &passed_at).empty()) return false;
  r->set_recovered_at_unix_us(std::max(passed_at, u.read_at_unix_us()));
  return true;
}

void FaultExecutor::WatchRecovery(const FaultTarget& target, const v1::UnitState& before, v1::FaultRecord* r) {
  const auto deadline = clock_->Now() + std::chrono::milliseconds(options_.recover_deadline_ms);
  while (true) {
    const auto polled = clock_->Now();
    if (PollOnce(target, before, r)) {
      r->set_recovered_by(v1::RECOVERED_BY_SYSTEMD_RESTART);
      return;
    }
    if (clock_->Now() >= deadline) break;
    const auto next = polled + std::chrono::milliseconds(options_.poll_ms);
    if (next > clock_->Now())
      clock_->SleepFor(std::chrono::duration_cast<std::chrono::microseconds>(next - clock_->Now()));
  }
  r->set_note(absl::StrCat(target.unit, " on ", target.host, " was not back healthy within ",
                           options_.recover_deadline_ms, " ms (systemd Restart=)"));
  Emit(target.host, target.unit, r->note() + "; failing over service " + target.service, v1::SEVERITY_WARN);
}

void FaultExecutor::FailOver(const FaultTarget& target, v1::FaultRecord* r, bool after_recovery) {
  if (after_recovery)
    Emit(target.host, target.unit, "--then-failover: failover of service " + target.service, v1::SEVERITY_INFO);
  v1::Report failover = failover_(target.service);
  r->set_failover_summary(absl::StrCat(OutcomeName(failover.outcome()), ": ", failover.summary()));
  Emit(target.host, target.unit, "failover of " + target.service + ": " + r->failover_summary(),
       failover.outcome() == v1::RUN_SUCCEEDED ? v1::SEVERITY_OK : v1::SEVERITY_ERROR);
  if (failover.outcome() != v1::RUN_SUCCEEDED)
    report_.add_errors(absl::StrCat("failover of ", target.service, " after the fault on ", target.host, ": ",
                                    r->failover_summary()));
  if (after_recovery) return;
  // Back now? A few looks (the failover's own gate already waited for the probes).
  v1::UnitState any;  // main PID 0: any running unit counts as having left the killed process
  any.set_active_state("active");
  any.set_n_restarts(r->n_restarts_before());
  for (int i = 0; i < 20; ++i) {
    if (PollOnce(target, any, r)) {
      r->set_recovered_by(v1::RECOVERED_BY_FAILOVER);
      return;
    }
    clock_->SleepFor(std::chrono::milliseconds(options_.poll_ms));
  }
  r->set_recovered_by(v1::RECOVERED_BY_NOT_RECOVERED);
}

void FaultExecutor::Conclude() {
  report_.set_finished_at_unix_us(clock_->NowUnixUs());
  uint32_t injected = 0, recovered = 0, skipped = 0, refused = 0;
  int64_t worst = 0;
  for (const auto& f : report_.faults()) {
    if (f.injected_at_unix_us() > 0) ++injected;
    if (f.recovered_by() == v1::RECOVERED_BY_SYSTEMD_RESTART || f.recovered_by() == v1::RECOVERED_BY_FAILOVER) ++recovered;
    if (f.note().rfind("skipped:", 0) == 0) ++skipped;
    if (f.note().rfind("refused", 0) == 0) ++refused;
    worst = std::max(worst, f.mttr_us());
  }
  const bool failed = injected != recovered || refused > 0 || report_.errors_size() > 0;
  std::string summary = absl::StrCat(report_.mode(), ": ", injected, " fault(s) injected, ", recovered, " recovered",
                                     skipped > 0 ? absl::StrCat(", ", skipped, " skipped") : "",
                                     refused > 0 ? absl::StrCat(", ", refused, " refused") : "",
                                     injected > 0 ? absl::StrCat(", worst MTTR ", MsText(worst)) : "");
  if (!options_.execute) summary = "DRY RUN (nothing touched): " + summary;
  if (!stop_why_.empty()) {
    report_.set_outcome(v1::RUN_ABORTED);
    report_.set_summary(absl::StrCat(summary, "; stopped: ", stop_why_));
  } else {
    report_.set_outcome(failed ? v1::RUN_FAILED : v1::RUN_SUCCEEDED);
    report_.set_summary(summary);
  }
  Emit("", "", report_.summary(), failed || !stop_why_.empty() ? v1::SEVERITY_ERROR : v1::SEVERITY_OK);
}

}  // namespace failover::coordinator
