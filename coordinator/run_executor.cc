#include "run_executor.h"

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "failover/logging.h"
#include "failover/worker_pool.h"
#include "coordinator/budget.h"
#include "coordinator/wire_enums.h"
#include "failover/unit_state.h"

namespace failover::coordinator {
namespace {

std::string Ms(int64_t us) { return absl::StrFormat("%.1f ms", us / 1000.0); }

// Short calls to many agents (preflight, recovery reads, final state, lease renewals, releases)
// run on at most this many threads at once: a thousand simultaneous TLS handshakes time out on a
// small coordinator, and a thousand threads cost more than the calls.
constexpr size_t kMaxParallelCalls = 64;

// Calls fn(i) for i in [0, n) on up to kMaxParallelCalls threads; returns when all are done.
template <typename Fn>
void ForEachParallel(size_t n, Fn fn) {
  ParallelFor(n, std::move(fn), kMaxParallelCalls);
}

// Tells a waiting loop thread (`over`, guarded by `mu`, watched through `cv`) to end; joins it.
void EndAndJoin(std::mutex& mu, std::condition_variable& cv, bool* over, std::thread* thread) {
  if (!thread->joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu);
    *over = true;
  }
  cv.notify_all();
  thread->join();
}

template <typename Map>
std::vector<typename Map::const_iterator> Entries(const Map& m) {
  std::vector<typename Map::const_iterator> out;
  out.reserve(m.size());
  for (auto it = m.begin(); it != m.end(); ++it) out.push_back(it);
  return out;
}

}  // namespace

void AddAgentState(const v1::GetStateResponse& state, v1::Report* report) {
  for (const auto& st : state.units()) *report->add_final_state() = st;
  for (const auto& op : state.autonomous_operations())
    if (op.run_id() == report->run_id()) *report->add_operations() = op;
}

std::string OutcomeName(v1::RunOutcome o) {
  switch (o) {
    case v1::RUN_RUNNING: return "RUNNING";
    case v1::RUN_SUCCEEDED: return "SUCCEEDED";
    case v1::RUN_ABORTED: return "ABORTED";
    case v1::RUN_FAILED: return "FAILED";
    case v1::RUN_INTERRUPTED: return "INTERRUPTED";
    case v1::RUN_REFUSED: return "REFUSED";
    default: return "UNKNOWN";
  }
}

RunExecutor::RunExecutor(const Config& config, const Plan& plan, std::map<std::string, AgentClient*> clients,
                         ProbeRunner* health, Clock* clock, EmitFn emit, SnapshotFn snapshot)
    : config_(config), plan_(plan), clients_(std::move(clients)), health_(health), clock_(clock),
      gates_(health, clients_), emit_(std::move(emit)), snapshot_(std::move(snapshot)) {}

void RunExecutor::Emit(const std::string& host, const std::string& unit, const std::string& step,
                       const std::string& msg, v1::EventSeverity severity, const UnitTag& tag) {
  std::lock_guard<std::mutex> lock(emit_mu_);
  v1::RunEvent e;
  e.set_elapsed_us(MicrosSince(start_, clock_->Now()));
  e.set_host(host);
  e.set_unit(unit);
  e.set_step_id(step);
  e.set_message(Redact(msg));
  e.set_level(severity);
  e.set_severity(SeverityWord(severity));
  e.set_unit_event(tag.kind);
  e.set_operation(tag.operation);
  e.set_probe(tag.probe);
  e.set_skip_reason(tag.skip_reason);
  if (emit_) emit_(std::move(e));
}

uint32_t RunExecutor::AllowedFailures(const std::string& service) const {
  const ServiceConfig* svc = config_.FindService(service);
  if (svc == nullptr) return 0;
  size_t hosts = 0;
  for (const auto& h : config_.hosts) hosts += std::count(h.units.begin(), h.units.end(), svc->unit);
  if (svc->failure_percent) return static_cast<uint32_t>(hosts * svc->max_failed_hosts / 100);
  return svc->max_failed_hosts;
}

absl::Status LeaseCoversUnitTimeouts(uint32_t lease_ms, uint32_t job_timeout_ms, const std::string& host,
                                    const v1::UnitState& st) {
  // The agent's own rule (it refuses such a step too, but only once the run is under way): a
  // held unit's stop and start, each capped by the job timeout (0 = unknown = the job timeout).
  const uint64_t job_us = uint64_t{job_timeout_ms} * 1000;
  auto bound = [job_us](uint64_t unit_us) { return unit_us == 0 ? job_us : std::min(unit_us, job_us); };
  const uint64_t need_us = bound(st.timeout_stop_us()) + bound(st.timeout_start_us());
  if (uint64_t{lease_ms} * 1000 >= need_us) return absl::OkStatus();
  auto ms = [](uint64_t us) { return us == UINT64_MAX ? std::string("infinity") : absl::StrCat(us / 1000, " ms"); };
  return absl::FailedPreconditionError(absl::StrCat(
      "unit ", st.unit(), " on host ", host, ": defaults.lease_ms ", lease_ms, " is shorter than its TimeoutStopUSec ",
      ms(st.timeout_stop_us()), " + TimeoutStartUSec ", ms(st.timeout_start_us()), " (each capped by job_timeout_ms ",
      job_timeout_ms, ") = ", need_us / 1000, " ms; raise defaults.lease_ms or lower the unit's timeouts"));
}

bool IsRefusal(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kPermissionDenied ||
         s.code() == absl::StatusCode::kFailedPrecondition || s.code() == absl::StatusCode::kUnauthenticated;
}

void RunExecutor::PreflightHost(const std::string& host, const std::vector<std::string>& units) {
  auto it = clients_.find(host);
  absl::StatusOr<v1::GetStateResponse> resp = absl::NotFoundError(absl::StrCat("no agent client for host ", host));
  if (it != clients_.end()) {
    v1::GetStateRequest req;
    req.set_run_id(report_.run_id());
    // An executed run reserves the host now, before its first change anywhere (all or nothing).
    if (plan_.options.execute) req.set_reserve_lease_ms(config_.defaults.lease_ms);
    for (const auto& u : units) req.add_units(u);
    resp = it->second->GetState(req);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (!resp.ok()) {
    const std::string msg = Redact(std::string(resp.status().message()));
    if (IsRefusal(resp.status())) {
      report_.add_errors(absl::StrCat("host ", host, " refused the run: ", msg));
    } else {
      unreachable_.insert(host);
      report_.add_errors(absl::StrCat("host ", host, ": agent unreachable at preflight: ", msg));
    }
    return;
  }
  if (plan_.options.execute) reserved_hosts_.insert(host);
  if (!resp->held_by_run().empty() && resp->held_by_run() != report_.run_id() && plan_.options.execute)
    report_.add_errors(absl::StrCat("host ", host, " is held by run ", resp->held_by_run()));
  for (const auto& st : resp->units()) {
    if (st.load_state() != "loaded")
      report_.add_errors(absl::StrCat("unit ", st.unit(), " is ", st.load_state(), " on host ", host));
    else if (plan_.options.execute)
      if (absl::Status s = LeaseCoversUnitTimeouts(config_.defaults.lease_ms, config_.defaults.job_timeout_ms, host, st);
          !s.ok())
        report_.add_errors(std::string(s.message()));
    initial_[{host, st.unit()}] = st;
    *report_.add_initial_state() = st;
  }
}

bool RunExecutor::Preflight() {
  const auto hosts = Entries(plan_.host_units);
  ForEachParallel(hosts.size(), [&](size_t i) { PreflightHost(hosts[i]->first, hosts[i]->second); });
  for (const auto& err : report_.errors()) Emit("", "", "", err, v1::SEVERITY_ERROR);
  if (report_.errors().empty()) return true;
  ReleaseReserved();
  return false;
}

void RunExecutor::ReleaseReserved() {
  // Refused: give back every host reserved so far, so the run holds nothing it will not use.
  ReleaseHosts();
  reserved_hosts_.clear();
}

void RunExecutor::OnAgentEvent(const std::string& host, const std::string& step_id, const v1::AgentEvent& e,
                               HostStepResult* r, bool* step_done) {
  r->reached = true;
  std::lock_guard<std::mutex> lock(mu_);
  switch (e.kind()) {
    case v1::AgentEvent::JOB_DONE:
    case v1::AgentEvent::WOULD_RUN: {
      v1::OperationRecord* op = report_.add_operations();
      *op = e.operation();
      op->set_job_result(JobResultOf(*op));
      const bool ok = JobSucceeded(op->job_result());
      const bool would = e.kind() == v1::AgentEvent::WOULD_RUN;
      Emit(host, e.unit(), step_id,
           would ? e.message()
                 : absl::StrCat(OperationName(op->operation()), " ", op->result(), " in ", Ms(op->duration_us()),
                                op->detail().empty() ? "" : " (" + op->detail() + ")"),
           ok ? v1::SEVERITY_OK : v1::SEVERITY_ERROR,
           {would ? v1::UNIT_EVENT_WOULD_RUN : ok ? v1::UNIT_EVENT_JOB_DONE : v1::UNIT_EVENT_JOB_FAILED, op->operation(),
            "", ""});
      break;
    }
    case v1::AgentEvent::JOB_SKIPPED:  // recorded with why; not a failure
      *report_.add_operations() = e.operation();
      Emit(host, e.unit(), step_id, e.message(), v1::SEVERITY_INFO,
           {v1::UNIT_EVENT_SKIPPED, e.operation().operation(), "", e.operation().skip_reason()});
      break;
    case v1::AgentEvent::JOB_ISSUED:
      Emit(host, e.unit(), step_id, e.message() + " issued", v1::SEVERITY_INFO,
           {v1::UNIT_EVENT_JOB_ISSUED, e.operation().operation(), "", ""});
      break;
    case v1::AgentEvent::PROBE_RESULT:
      *report_.add_health() = e.probe();
      Emit(host, e.probe().target(), step_id, e.message(), e.probe().healthy() ? v1::SEVERITY_OK : v1::SEVERITY_ERROR,
           {e.probe().healthy() ? v1::UNIT_EVENT_GATE_PASSED : v1::UNIT_EVENT_GATE_FAILED, v1::OPERATION_UNSPECIFIED,
            e.probe().name(), ""});
      break;
    case v1::AgentEvent::INFO:
      Emit(host, e.unit(), step_id, e.message(), v1::SEVERITY_INFO);
      break;
    case v1::AgentEvent::STEP_DONE:
      *step_done = true;
      r->ok = e.ok();
      if (!e.ok()) r->reason = absl::StrCat("host ", host, ": ", e.message());
      break;
    default:
      break;
  }
}

RunExecutor::HostStepResult RunExecutor::RunOnHost(const PlannedStep& step, const std::string& host) {
  HostStepResult r;
  auto it = clients_.find(host);
  if (it == clients_.end() || (unreachable_.count(host) && step.dry_run)) {
    r.reason = absl::StrCat("host ", host, ": agent unreachable at preflight");
    return r;
  }
  const v1::ExecuteRequest req = ToExecuteRequest(step, report_.run_id());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!step.dry_run) touched_hosts_.insert(host);
  }
  bool step_done = false;
  absl::Status s = it->second->Execute(
      req, [&](const v1::AgentEvent& e) { OnAgentEvent(host, step.id, e, &r, &step_done); }, step.rpc_deadline);
  if (!s.ok()) {
    r.ok = false;
    r.reason = Redact(std::string(s.message()));
    if (s.code() == absl::StatusCode::kUnavailable || s.code() == absl::StatusCode::kDeadlineExceeded) {
      std::lock_guard<std::mutex> lock(mu_);
      lost_hosts_.insert(host);
    }
    if (step_done) return r;
    if (!step.dry_run && r.reached)
      r.reason += "; whether the agent finished the step or restored the unit on its own is not confirmed here "
                  "(see the final state and the agent's own operations)";
  }
  return r;
}

namespace {

// The probes that say an instance is healthy: the service's gate, or its unit active without one;
// one attempt each (deadline = timeout): the budget asks about now.
std::vector<v1::ProbeSpec> BudgetProbes(const ServiceConfig& svc) {
  std::vector<v1::ProbeSpec> probes = svc.probes;
  if (probes.empty()) {
    v1::ProbeSpec p;
    p.set_name(svc.name + "-active");
    p.mutable_unit()->set_unit(svc.unit);
    p.mutable_unit()->set_expect_active_state("active");
    p.set_timeout_ms(1000);
    probes.push_back(p);
  }
  for (auto& p : probes) p.set_deadline_ms(p.timeout_ms());
  return probes;
}

}  // namespace

std::map<std::string, bool> RunExecutor::ProbeOthers(const ServiceConfig& svc, const std::vector<std::string>& wave,
                                                     const std::vector<std::string>& hosts) {
  std::map<std::string, bool> healthy;
  for (const auto& h : hosts)
    if (std::find(wave.begin(), wave.end(), h) == wave.end()) healthy[h] = false;
  v1::ProbeRequest req;
  req.set_run_id(report_.run_id());
  int64_t deadline_ms = 5000;
  for (const auto& p : BudgetProbes(svc)) {
    *req.add_probes() = p;
    deadline_ms += p.timeout_ms();
  }
  std::vector<std::pair<AgentClient*, bool*>> asks;
  for (auto& entry : healthy) {
    auto it = clients_.find(entry.first);
    if (it != clients_.end()) asks.emplace_back(it->second, &entry.second);
  }
  ParallelFor(asks.size(), [&](size_t i) {
    auto r = asks[i].first->Probe(req, std::chrono::milliseconds(deadline_ms));
    *asks[i].second = r.ok() && r->results_size() == req.probes_size() &&
                      std::all_of(r->results().begin(), r->results().end(),
                                  [](const v1::ProbeResult& p) { return p.healthy(); });
  });
  return healthy;
}

bool RunExecutor::WaitForBudget(const PlannedStep& step, std::string* why) {
  const ServiceConfig* svc = config_.FindService(step.service);
  if (svc == nullptr || step.operation == v1::OPERATION_START || step.operation == v1::OPERATION_UNSPECIFIED) return true;
  const std::vector<std::string> hosts = HostsRunning(config_, svc->unit);
  if (MinHealthy(*svc, hosts.size()) == 0) return true;
  const uint32_t wait_ms = step.dry_run ? 0 : BudgetWaitMs(*svc);
  const auto deadline = clock_->Now() + std::chrono::milliseconds(wait_ms);
  const std::string where = absl::StrJoin(step.hosts, ",");
  for (int attempt = 1;; ++attempt) {
    const BudgetVerdict v = CheckBudget(*svc, step.hosts, ProbeOthers(*svc, step.hosts, hosts), hosts.size());
    if (v.ok) {
      Emit(where, step.unit, step.id, v.message + ": kept", v1::SEVERITY_INFO);
      return true;
    }
    if (clock_->Now() >= deadline) {
      *why = absl::StrCat(v.message, ", below it; ", step.dry_run ? "an executed run would wait for it" : "waited ",
                          step.dry_run ? "" : absl::StrCat(wait_ms, " ms (min_healthy_wait_ms)"), "; not stopping ",
                          step.unit, " on ", where);
      return false;
    }
    if (attempt == 1)
      Emit(where, step.unit, step.id, absl::StrCat(v.message, ", below it; waiting up to ", wait_ms, " ms"),
           v1::SEVERITY_WARN);
    clock_->SleepFor(std::chrono::milliseconds(200));
  }
}

void RunExecutor::RunStep(size_t index) {
  const PlannedStep& step = plan_.steps[index];
  v1::StepRecord* rec;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rec = report_.mutable_steps(static_cast<int>(index));
    rec->set_status(v1::STEP_RUNNING);
    rec->set_started_at_unix_us(clock_->NowUnixUs());
    if (snapshot_) snapshot_(report_);
  }
  Emit(absl::StrJoin(step.hosts, ","), step.unit, step.id,
       absl::StrCat("step ", index + 1, "/", plan_.steps.size(), ": ", OperationName(step.operation), " ", step.unit, " on ",
                    absl::StrJoin(step.hosts, ", ")),
       v1::SEVERITY_INFO);
  std::vector<HostStepResult> results(step.hosts.size());
  std::string budget_why;
  if (!WaitForBudget(step, &budget_why)) {
    for (auto& r : results) r.reason = budget_why;
    Emit(absl::StrJoin(step.hosts, ","), step.unit, step.id, budget_why, v1::SEVERITY_ERROR);
  } else {
    ParallelFor(step.hosts.size(), [&](size_t i) { results[i] = RunOnHost(step, step.hosts[i]); });
  }

  std::vector<std::string> reasons;
  std::lock_guard<std::mutex> lock(mu_);
  auto& failed = failed_hosts_[step.service];
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok) continue;
    if (std::find(reasons.begin(), reasons.end(), results[i].reason) == reasons.end()) reasons.push_back(results[i].reason);
    failed.insert(step.hosts[i]);
  }
  // The threshold counts every host of the service that failed so far, in any wave or phase.
  const uint32_t allowed = AllowedFailures(step.service);
  const bool step_ok = failed.size() <= allowed;
  rec->set_finished_at_unix_us(clock_->NowUnixUs());
  if (!reasons.empty()) rec->set_reason(absl::StrJoin(reasons, "; "));
  if (!step_ok) {
    rec->set_status(v1::STEP_FAILED);
    any_failed_ = true;
    if (first_failure_.empty()) first_failure_ = absl::StrCat("step ", step.id, " failed: ", rec->reason());
    if (plan_.options.failure_policy != FailurePolicy::kContinue) stopped_ = true;
  } else {
    rec->set_status(plan_.options.execute ? v1::STEP_SUCCEEDED : v1::STEP_DRY_RUN);
  }
  Emit("", step.unit, step.id,
       step_ok ? absl::StrCat("step ", step.id, " ", plan_.options.execute ? "succeeded" : "dry run ok",
                              failed.empty() ? "" : absl::StrCat(" (", failed.size(), " host(s) of ", step.service,
                                                                 " failed so far, ", allowed, " allowed)"))
               : absl::StrCat("step ", step.id, " FAILED: ", rec->reason()),
       step_ok ? v1::SEVERITY_OK : v1::SEVERITY_ERROR);
  if (snapshot_) snapshot_(report_);
}

bool RunExecutor::SkipLostHost(const std::string& host, const std::string& phase) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!lost_hosts_.count(host)) return false;
  }
  // Lost mid-run, but its agent may be back (restarted): ask once more, with the normal deadline.
  v1::GetStateRequest req;
  req.set_run_id(report_.run_id());
  auto again = clients_.at(host)->GetState(req);
  std::lock_guard<std::mutex> lock(mu_);
  if (again.ok()) {
    lost_hosts_.erase(host);
    Emit(host, "", phase, absl::StrCat("host ", host, " was lost during the run and answers again; asking it for ", phase),
         v1::SEVERITY_WARN);
    return false;
  }
  report_.add_errors(absl::StrCat(phase, ": host ", host, " was lost during the run and did not answer again (",
                                  Redact(std::string(again.status().message())),
                                  "); whether its agent restored the units it held is not confirmed"));
  Emit(host, "", phase, report_.errors(report_.errors_size() - 1), v1::SEVERITY_WARN);
  return true;
}

bool RunExecutor::RunFailedSoFar() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopped_ || any_failed_;
}

bool RunExecutor::Recovered() {
  std::lock_guard<std::mutex> lock(mu_);
  return recovered_;
}

void RunExecutor::RequestStop(const std::string& why) {
  std::lock_guard<std::mutex> lock(stop_mu_);
  if (stop_why_.empty()) stop_why_ = why;  // the first stop wins; callable from the emit callback
}

std::string RunExecutor::StopReason() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (stop_why_.empty()) return "";
  std::lock_guard<std::mutex> lock(mu_);
  first_failure_ = stop_why_;  // the stop is the run's story, whatever failed on the way
  return stop_why_;
}

void RunExecutor::Recover() {
  // What each touched unit must be after the run is the planner's call (PlanRecovery).
  const bool run_failed = stopped_ || any_failed_;
  RunOptions options = plan_.options;
  if (!StopReason().empty()) options.failure_policy = FailurePolicy::kRestore;  // a stopped run puts back everything
  std::vector<std::pair<std::string, std::vector<std::string>>> todo;
  for (const auto& [host, units] : plan_.host_units)
    if (touched_hosts_.count(host) && !SkipLostHost(host, "recovery")) todo.emplace_back(host, units);
  ForEachParallel(todo.size(), [&](size_t i) { RecoverHost(todo[i].first, todo[i].second, options, run_failed); });
}

void RunExecutor::RecoverHost(const std::string& host, const std::vector<std::string>& units,
                              const RunOptions& options, bool run_failed) {
  // This host's entries only (the map is ordered by host): O(units), not O(all hosts).
  std::map<std::string, v1::UnitState> initial;
  for (auto it = initial_.lower_bound({host, ""}); it != initial_.end() && it->first.first == host; ++it)
    initial[it->first.second] = it->second;
  v1::GetStateRequest req;
  req.set_run_id(report_.run_id());
  for (const auto& u : units) req.add_units(u);
  bool may_finish = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    may_finish = !run_failed && reserved_hosts_.count(host) && units.size() <= static_cast<size_t>(kGetStateBatchUnits);
  }
  // Nothing failed so far: when every unit that was up reads active, there is nothing to recover
  // (PlanRecovery plans a start only for a unit up before and not now), so this read is the host's
  // final state and the agent releases the host in the same call; otherwise it keeps the lease.
  if (may_finish) {
    req.set_release(true);
    for (const auto& [unit, st] : initial)
      if (IsActiveState(st.active_state())) req.add_release_only_if_active(unit);
  }
  auto now = clients_.at(host)->GetState(req);
  if (!now.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    report_.add_errors(absl::StrCat("recovery: ", now.status().message(), "; whether the agent restored the ",
                                    "units it stopped is not confirmed"));
    Emit(host, "", "recover", report_.errors(report_.errors_size() - 1), v1::SEVERITY_ERROR);
    return;
  }
  if (may_finish && now->release_done()) {
    std::lock_guard<std::mutex> lock(mu_);
    AddAgentState(*now, &report_);
    final_states_[host] = *std::move(now);
    finished_hosts_.insert(host);
    return;
  }
  const std::vector<v1::UnitState> states(now->units().begin(), now->units().end());
  for (const PlannedStep& step : PlanRecovery(config_, options, host, initial, states, run_failed)) {
    Emit(host, step.unit, step.id, step.reason, v1::SEVERITY_WARN);
    {
      std::lock_guard<std::mutex> lock(mu_);
      recovered_ = true;
    }
    HostStepResult r = RunOnHost(step, host);
    std::lock_guard<std::mutex> lock(mu_);
    if (!r.ok) report_.add_errors(absl::StrCat("recovery of ", step.unit, " on ", host, " failed: ", r.reason));
  }
}

void RunExecutor::BeforeGates() {
  const std::vector<PlannedGate>& gates = plan_.gates.before;
  const std::vector<v1::ProbeResult> results = gates_.RunAll(gates, report_.run_id());
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < gates.size(); ++i) {
    const v1::ProbeResult& r = results[i];
    Emit(gates[i].where, r.target(), "pre-flight",
         absl::StrCat("pre-flight gate ", gates[i].name, ": ", r.healthy() ? "passed" : "FAILING", " (", r.detail(), ")"),
         r.healthy() ? v1::SEVERITY_OK : plan_.gates.refuse_on_failure ? v1::SEVERITY_ERROR : v1::SEVERITY_WARN);
    *report_.add_gates_before() = ToGateResult(gates[i], r);
  }
}

bool RunExecutor::RefuseForGates() {
  const std::vector<v1::GateResult> before(report_.gates_before().begin(), report_.gates_before().end());
  const std::string why = RefusalReason(plan_.gates, before);
  if (why.empty()) return false;
  report_.add_errors(why);
  ReleaseReserved();
  Refuse(why);
  return true;
}

void RunExecutor::RecordForce() {
  const std::vector<v1::GateResult> before(report_.gates_before().begin(), report_.gates_before().end());
  const std::vector<std::string> failing = FailingGates(before);
  if (!plan_.options.execute || !plan_.gates.require_healthy || !plan_.gates.force || failing.empty()) return;
  report_.set_forced(true);
  for (const auto& g : before)
    if (!g.passed()) report_.add_forced_failing_gates(g.name());
  // The emit callback writes it to the coordinator's log: the audit of who started what anyway.
  Emit("", "", "pre-flight",
       absl::StrCat("--force: starting although --require-healthy found ", failing.size(), " failing pre-flight gate(s): ",
                    absl::StrJoin(failing, "; ")),
       v1::SEVERITY_WARN);
}

void RunExecutor::Trip(const PlannedGate& gate, const v1::ProbeResult& r) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (report_.has_stop_condition()) return;  // the first trip is the story
    v1::GateTrip* t = report_.mutable_stop_condition();
    t->set_name(gate.name);
    t->set_where(gate.where);
    t->set_tripped_at_unix_us(r.finished_at_unix_us() > 0 ? r.finished_at_unix_us() : clock_->NowUnixUs());
    t->set_message(r.detail());
    uint32_t started = 0;
    for (const auto& st : report_.steps()) started += st.status() != v1::STEP_NOT_RUN;
    t->set_steps_started(started);
  }
  const std::string why = absl::StrCat("stop condition ", gate.name, " on ", gate.where, " tripped: ", r.detail());
  Emit(gate.where, r.target(), "stop-condition", why, v1::SEVERITY_ERROR);
  RequestStop(why);
}

bool RunExecutor::CheckStopConditions() {
  const std::vector<PlannedGate>& gates = plan_.gates.during;
  if (gates.empty()) return false;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    if (!stop_why_.empty()) return false;  // already stopping: nothing more to look for
  }
  std::vector<PlannedGate> since;
  for (const auto& g : gates) since.push_back(SinceRunStart(g, report_.started_at_unix_us()));
  const std::vector<v1::ProbeResult> results = gates_.RunAll(since, report_.run_id());
  for (size_t i = 0; i < gates.size(); ++i) {
    if (results[i].healthy()) continue;
    Trip(gates[i], results[i]);
    return true;
  }
  return false;
}

void RunExecutor::WatchStopConditions() {
  std::unique_lock<std::mutex> lock(watch_mu_);
  while (!watch_cv_.wait_for(lock, plan_.gates.watch_interval, [this] { return watch_over_; })) {
    lock.unlock();
    const bool tripped = CheckStopConditions();
    lock.lock();
    if (tripped) return;
  }
}

void RunExecutor::StopWatching(std::thread* watcher) { EndAndJoin(watch_mu_, watch_cv_, &watch_over_, watcher); }

void RunExecutor::AfterGates() { RecordAfterGates(RunAfterGates()); }

std::vector<v1::ProbeResult> RunExecutor::RunAfterGates() {
  const std::vector<PlannedGate>& gates = plan_.gates.after;
  std::vector<v1::ProbeResult> results(gates.size());
  std::vector<PlannedGate> reachable;
  std::vector<size_t> index;
  for (size_t i = 0; i < gates.size(); ++i) {
    const bool lost = !gates[i].on_coordinator && clients_.count(gates[i].where) && SkipLostHost(gates[i].where, "final-health");
    if (lost) {
      results[i] = FailedGateProbe(gates[i], "host " + gates[i].where + " was lost during the run");
      continue;
    }
    reachable.push_back(SinceRunStart(gates[i], report_.started_at_unix_us()));
    index.push_back(i);
  }
  const std::vector<v1::ProbeResult> ran = gates_.RunAll(reachable, report_.run_id());
  for (size_t j = 0; j < ran.size(); ++j) results[index[j]] = ran[j];
  return results;
}

void RunExecutor::RecordAfterGates(std::vector<v1::ProbeResult> results) {
  const std::vector<PlannedGate>& gates = plan_.gates.after;
  std::lock_guard<std::mutex> lock(mu_);
  for (size_t i = 0; i < gates.size(); ++i) {
    v1::ProbeResult& r = results[i];
    Emit(r.host(), r.target(), "final-health",
         absl::StrCat("final check ", gates[i].name, ": ", r.healthy() ? "healthy" : "UNHEALTHY", " (", r.detail(), ", ",
                      r.attempts(), " attempt(s))"),
         r.healthy() ? v1::SEVERITY_OK : v1::SEVERITY_ERROR);
    if (!r.healthy()) {
      any_failed_ = true;
      if (first_failure_.empty()) first_failure_ = absl::StrCat("final health check ", gates[i].name, " failed: ", r.detail());
    }
    *report_.add_gates_after() = ToGateResult(gates[i], r);
    *report_.add_health() = std::move(r);
  }
}

void RunExecutor::FinalState() {
  std::vector<const std::pair<std::string, std::vector<std::string>>*> hosts;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& entry : plan_.host_units)
      if (!finished_hosts_.count(entry.first)) hosts.push_back(&entry);  // finished: read and released at recovery
  }
  ForEachParallel(hosts.size(), [&](size_t i) { FinalStateOf(hosts[i]->first, hosts[i]->second); });
}

void RunExecutor::FinalStateOf(const std::string& host, const std::vector<std::string>& units) {
  v1::GetStateRequest req;
  req.set_run_id(report_.run_id());
  for (const auto& u : units) req.add_units(u);
  {
    std::lock_guard<std::mutex> lock(mu_);
    req.set_release(reserved_hosts_.count(host) > 0);  // executed runs: the last call to the host releases it
  }
  auto resp = clients_.count(host) ? clients_.at(host)->GetState(req)
                                   : absl::StatusOr<v1::GetStateResponse>(absl::NotFoundError("no client"));
  bool release_again = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!resp.ok()) {
      report_.add_errors(absl::StrCat("final state: ", resp.status().message()));
    } else {
      if (lost_hosts_.erase(host))
        Emit(host, "", "final-state", absl::StrCat("host ", host, " was lost during the run and answers again"),
             v1::SEVERITY_WARN);
      AddAgentState(*resp, &report_);
    }
    // Not released by the read (it failed, or an agent without GetState.release): RenewLease, as
    // before; a host still lost is reported already and its lease ends on its own.
    release_again = req.release() && (!resp.ok() || !resp->release_done()) && !lost_hosts_.count(host);
    if (resp.ok() && plan_.options.execute) final_states_[host] = *std::move(resp);
  }
  if (release_again) ReleaseHost(host);
}

void RunExecutor::CheckFinalStates() {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [host, state] : final_states_) CheckStayedUp(host, state);  // in host order
}

std::string UnitDownAfterRun(const std::string& host, const v1::UnitState& before, const v1::UnitState& after) {
  if (!IsActiveState(before.active_state()) || after.active_state() == "active") return "";
  return absl::StrCat("unit ", after.unit(), " on host ", host, " was ", before.active_state(), " before the run and is ",
                      after.active_state(), "/", after.sub_state(), " at its end");
}

void RunExecutor::CheckStayedUp(const std::string& host, const v1::GetStateResponse& now) {
  // The outcome must agree with the final state the report shows: a unit the run found up and
  // leaves down (or restarting) is a failure, whatever the steps said.
  for (const auto& st : now.units()) {
    auto it = initial_.find({host, st.unit()});
    if (it == initial_.end()) continue;
    const std::string down = UnitDownAfterRun(host, it->second, st);
    if (down.empty()) continue;
    any_failed_ = true;
    report_.add_errors(down);
    if (first_failure_.empty()) first_failure_ = down;
    Emit(host, st.unit(), "final-state", down, v1::SEVERITY_ERROR);
  }
}

void RunExecutor::ReleaseHosts() {
  std::vector<std::string> hosts;
  for (const auto& host : reserved_hosts_)
    if (!lost_hosts_.count(host)) hosts.push_back(host);  // a lost host: reported already; its lease ends on its own
  ForEachParallel(hosts.size(), [&](size_t i) { ReleaseHost(hosts[i]); });
}

void RunExecutor::ReleaseHost(const std::string& host) {
  v1::RenewLeaseRequest req;
  req.set_run_id(report_.run_id());
  req.set_release(true);
  auto r = clients_.at(host)->RenewLease(req);
  if (!r.ok()) GetLogger("coordinator")->warn("[run={}] releasing host {}: {}", report_.run_id(), host, r.status().message());
}

void RunExecutor::StopLeaseKeeper(std::thread* keeper) { EndAndJoin(lease_mu_, lease_cv_, &run_over_, keeper); }

void RunExecutor::LeaseKeeper() {
  const auto period = std::chrono::milliseconds(std::max<uint32_t>(100, config_.defaults.lease_ms / 3));
  std::unique_lock<std::mutex> lock(lease_mu_);
  while (!lease_cv_.wait_for(lock, period, [this] { return run_over_; })) {
    std::vector<std::string> hosts;
    {
      std::lock_guard<std::mutex> l(mu_);
      // Every host reserved at preflight and not yet released. A renewal already under way when a
      // host is released at recovery is refused by its agent (Renew never takes a lease back).
      for (const auto& h : reserved_hosts_)
        if (!finished_hosts_.count(h)) hosts.push_back(h);
    }
    // In parallel, so one slow host cannot make the others' leases run out.
    ForEachParallel(hosts.size(), [&](size_t i) {
      [this, &h = hosts[i]] {
        v1::RenewLeaseRequest req;
        req.set_run_id(report_.run_id());
        req.set_lease_ms(config_.defaults.lease_ms);
        auto r = clients_.at(h)->RenewLease(req);
        // A miss is retried next period; a lost lease means the agent restores on its own.
        if (!r.ok())
          GetLogger("coordinator")->warn("[run={}][host={}] lease renewal failed: {}", report_.run_id(), h,
                                         r.status().message());
      }();
    });
  }
}

void RunExecutor::Begin(const std::string& run_id) {
  start_ = clock_->Now();
  report_.set_run_id(run_id);
  report_.set_dry_run(!plan_.options.execute);
  report_.set_mode(ModeName(plan_.options.mode));
  report_.set_failure_policy(FailurePolicyName(plan_.options.failure_policy));
  report_.set_mode_kind(ToWire(plan_.options.mode));
  report_.set_failure_policy_kind(ToWire(plan_.options.failure_policy));
  for (const auto& s : plan_.services) report_.add_services(s);
  report_.set_config_path(config_.path);
  report_.set_started_at_unix_us(clock_->NowUnixUs());
  report_.set_max_parallel(plan_.options.max_parallel);
  report_.set_outcome(v1::RUN_RUNNING);
  report_.set_require_healthy(plan_.gates.require_healthy);
  for (const auto& g : plan_.gates.during) report_.add_stop_conditions(g.name);
  for (const auto& s : plan_.steps) {
    v1::StepRecord r = ToStepRecord(s);
    r.set_status(v1::STEP_NOT_RUN);
    *report_.add_steps() = r;
  }
  Emit("", "", "",
       absl::StrCat("run ", run_id, ": ", plan_.options.execute ? "EXECUTE" : "dry run", ", mode ",
                    ModeName(plan_.options.mode), ", services ", absl::StrJoin(plan_.services, " → "), ", ",
                    plan_.steps.size(), " step(s), failure policy ", FailurePolicyName(plan_.options.failure_policy)),
       v1::SEVERITY_INFO);
  for (const auto& note : plan_.budget_notes) Emit("", "", "", note, v1::SEVERITY_INFO);
  if (snapshot_) snapshot_(report_);
}

void RunExecutor::Conclude(bool preflight_ok) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!preflight_ok) any_failed_ = true;
  if (stopped_) {
    report_.set_outcome(v1::RUN_ABORTED);
  } else if (any_failed_) {
    report_.set_outcome(v1::RUN_FAILED);
  } else {
    report_.set_outcome(v1::RUN_SUCCEEDED);
  }
  int not_run = 0;
  for (const auto& s : report_.steps()) not_run += s.status() == v1::STEP_NOT_RUN;
  if (report_.outcome() == v1::RUN_SUCCEEDED) {
    report_.set_summary(absl::StrCat(plan_.options.execute ? "failover succeeded: " : "dry run: ", plan_.steps.size(),
                                     " step(s)", plan_.options.execute ? " done, all gates and health checks passed"
                                                                       : " would run; nothing was changed"));
  } else {
    std::string why = first_failure_.empty() && !report_.errors().empty() ? report_.errors(0) : first_failure_;
    report_.set_summary(absl::StrCat(OutcomeName(report_.outcome()), ": ", why,
                                     not_run ? absl::StrCat("; ", not_run, " step(s) not run") : ""));
  }
  report_.set_finished_at_unix_us(clock_->NowUnixUs());
  Emit("", "", "", report_.summary(), report_.outcome() == v1::RUN_SUCCEEDED ? v1::SEVERITY_OK : v1::SEVERITY_ERROR);
}

void RunExecutor::Refuse(const std::string& why) {
  report_.set_outcome(v1::RUN_REFUSED);
  report_.set_summary(absl::StrCat("refused before any change: ", why,
                                   report_.errors_size() > 1 ? absl::StrCat(" (and ", report_.errors_size() - 1, " more)") : ""));
  for (const auto& st : report_.initial_state()) *report_.add_final_state() = st;
  report_.set_finished_at_unix_us(clock_->NowUnixUs());
  Emit("", "", "", report_.summary(), v1::SEVERITY_ERROR);
}

v1::Report RunExecutor::Run(const std::string& run_id) {
  Begin(run_id);
  // The pre-flight gates only read: they run beside the agents' state reads and reservations,
  // and both are in before anything is decided on them.
  auto before = WorkerPool::Shared().Async([this] { BeforeGates(); });
  const bool preflight_ok = Preflight();
  before.get();
  if (!preflight_ok && plan_.options.execute) {
    Refuse(report_.errors(0));
    return report_;
  }
  if (RefuseForGates()) return report_;
  RecordForce();

  std::thread keeper, watcher;
  if (plan_.options.execute) keeper = std::thread([this] { LeaseKeeper(); });
  if (!plan_.gates.during.empty()) watcher = std::thread([this] { WatchStopConditions(); });
  for (size_t i = 0; i < plan_.steps.size(); ++i) {
    if (stopped_ || !StopReason().empty()) break;
    if (i > 0 && CheckStopConditions()) break;  // a safe point: between two steps
    RunStep(i);
  }
  StopWatching(&watcher);
  const std::string stop_why = StopReason();
  if (!stop_why.empty())
    Emit("", "", "", stop_why + ": stopping here and restoring what the run changed", v1::SEVERITY_WARN);
  if (stopped_ || !stop_why.empty()) {
    stopped_ = true;
    for (auto& s : *report_.mutable_steps())
      if (s.status() == v1::STEP_NOT_RUN)
        s.set_reason(stop_why.empty() ? "not run: the run stopped after a failed step" : "not run: " + stop_why);
  }
  // A run that has not failed rarely has anything to recover: its after-gates run beside the
  // hosts' last reads. Should a recovery act after all, they run again after it, and the report
  // has only that later verdict.
  Task<std::vector<v1::ProbeResult>> early_gates;
  if (plan_.options.execute && !RunFailedSoFar())
    early_gates = WorkerPool::Shared().Async([this] { return RunAfterGates(); });
  if (plan_.options.execute) Recover();
  // The final state read releases each host (one call per host): no renewal may follow it. The
  // after-gates and the final read are independent (both after the last step and the recovery).
  StopLeaseKeeper(&keeper);
  Task<std::vector<v1::ProbeResult>> after_gates;
  if (early_gates.valid() && !Recovered()) after_gates = std::move(early_gates);
  else after_gates = WorkerPool::Shared().Async([this] { return RunAfterGates(); });
  FinalState();
  if (early_gates.valid()) early_gates.wait();  // superseded by the gates run after the recovery
  RecordAfterGates(after_gates.get());
  CheckFinalStates();  // after the gates' verdicts, as when the two ran one after the other

  Conclude(preflight_ok);
  return report_;
}

}  // namespace failover::coordinator
