#include "planner.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "coordinator/budget.h"
#include "coordinator/wire_enums.h"
#include "failover/unit_state.h"

namespace failover::coordinator {

std::vector<std::string> HostsRunning(const Config& config, const std::string& unit) {
  std::vector<std::string> out;
  for (const auto& h : config.hosts)
    if (std::find(h.units.begin(), h.units.end(), unit) != h.units.end()) out.push_back(h.name);
  return out;
}

namespace {

// Timeouts, lease, dry run and the call deadline: from the config's defaults and the run options.
void Settle(const Config& config, const RunOptions& options, PlannedStep* s) {
  s->dry_run = !options.execute;
  s->job_timeout_ms = config.defaults.job_timeout_ms;
  s->lease_ms = config.defaults.lease_ms;
  s->allow_reset_failed = config.defaults.allow_reset_failed;
  int64_t deadline_ms = 2 * int64_t{config.defaults.job_timeout_ms} + 5000;
  for (const auto& p : s->probes) deadline_ms += std::max(p.deadline_ms(), p.timeout_ms()) + p.timeout_ms();
  s->rpc_deadline = std::chrono::milliseconds(deadline_ms);
}

// The wave width of `svc`: --max-parallel, narrowed to what its availability budget allows (the
// planner serialises a --max-parallel the budget cannot take, and says so in `notes`).
absl::StatusOr<size_t> WaveSize(const Config& config, const RunOptions& options, const ServiceConfig& svc,
                                std::vector<std::string>* notes) {
  const size_t wanted = std::max<uint32_t>(1, options.max_parallel);
  const size_t instances = HostsRunning(config, svc.unit).size();
  auto budget = MaxWaveForBudget(svc, instances, options.mode);
  if (!budget.ok()) return budget.status();
  if (*budget >= wanted || MinHealthy(svc, instances) == 0) return wanted;
  notes->push_back(absl::StrCat("service ", svc.name, ": --max-parallel ", wanted, " narrowed to ", *budget,
                                " by its availability budget (min_healthy ", MinHealthy(svc, instances), " of ",
                                instances, " instances)"));
  return *budget;
}

void AddWaves(const Config& config, const RunOptions& options, const ServiceConfig& svc, v1::Operation op,
              bool gated, size_t wave_size, std::vector<PlannedStep>* steps) {
  const auto hosts = HostsRunning(config, svc.unit);
  const size_t waves = (hosts.size() + wave_size - 1) / wave_size;
  for (size_t w = 0; w < waves; ++w) {
    PlannedStep s;
    s.service = svc.name;
    s.unit = svc.unit;
    s.operation = op;
    for (size_t i = w * wave_size; i < std::min(hosts.size(), (w + 1) * wave_size); ++i) s.hosts.push_back(hosts[i]);
    if (gated) s.probes = svc.probes;
    s.id = absl::StrFormat("%02d-%s-%s%s", steps->size() + 1, OperationName(op), svc.name,
                           waves > 1 ? absl::StrCat("-w", w + 1) : "");
    Settle(config, options, &s);
    if (op != v1::OPERATION_STOP) {
      // The gate holds for a settle window: the unit must stay up, then the probes run again.
      s.healthy_for_ms = svc.healthy_for_ms.value_or(config.defaults.healthy_for_ms);
      int64_t extra_ms = s.healthy_for_ms;
      for (const auto& p : s.probes) extra_ms += std::max(p.deadline_ms(), p.timeout_ms()) + p.timeout_ms();
      s.rpc_deadline += std::chrono::milliseconds(extra_ms);
    }
    steps->push_back(std::move(s));
  }
}

}  // namespace

absl::StatusOr<RunOptions> ResolveOptions(const Config& config, const std::vector<std::string>& services,
                                          const std::string& mode, const std::string& failure_policy,
                                          uint32_t max_parallel, bool execute) {
  RunOptions o;
  o.services = services;
  o.mode = config.defaults.mode;
  o.failure_policy = config.defaults.failure_policy;
  o.max_parallel = max_parallel == 0 ? config.defaults.max_parallel : max_parallel;
  o.execute = execute;
  o.require_healthy = config.defaults.require_healthy;
  if (!mode.empty()) {
    auto m = ParseMode(mode);
    if (!m.ok()) return absl::InvalidArgumentError(absl::StrCat("--mode: ", m.status().message()));
    o.mode = *m;
  }
  if (!failure_policy.empty()) {
    auto p = ParseFailurePolicy(failure_policy);
    if (!p.ok()) return absl::InvalidArgumentError(absl::StrCat("--failure-policy: ", p.status().message()));
    o.failure_policy = *p;
  }
  if (o.max_parallel > 1000) return absl::InvalidArgumentError("--max-parallel must be 1..1000");
  return o;
}

absl::StatusOr<RunOptions> ResolveOptions(const Config& config, const v1::RunRequest& req) {
  const std::optional<Mode> mode = FromWire(req.mode_kind());
  const std::optional<FailurePolicy> policy = FromWire(req.failure_policy_kind());
  auto o = ResolveOptions(config, {req.services().begin(), req.services().end()}, mode ? "" : req.mode(),
                          policy ? "" : req.failure_policy(), req.max_parallel(), req.execute());
  if (!o.ok()) return o.status();
  if (mode) o->mode = *mode;
  if (policy) o->failure_policy = *policy;
  if (req.has_require_healthy()) o->require_healthy = req.require_healthy();
  o->force = req.force();
  return o;
}

absl::StatusOr<Plan> BuildPlan(const Config& config, const RunOptions& options) {
  Plan plan;
  plan.options = options;
  plan.services = options.services.empty() ? config.default_order : options.services;
  if (plan.services.empty()) return absl::InvalidArgumentError("no services to fail over");
  std::set<std::string> seen;
  std::vector<const ServiceConfig*> svcs;
  for (const auto& name : plan.services) {
    const ServiceConfig* svc = config.FindService(name);
    if (svc == nullptr) {
      std::vector<std::string> known;
      for (const auto& s : config.services) known.push_back(s.name);
      return absl::InvalidArgumentError(absl::StrCat("unknown service \"", name, "\" in --services (", config.path,
                                                     " defines: ", absl::StrJoin(known, ", "), ")"));
    }
    if (!seen.insert(name).second)
      return absl::InvalidArgumentError(absl::StrCat("service \"", name, "\" is listed twice in --services"));
    svcs.push_back(svc);
  }
  std::map<std::string, size_t> wave;
  for (const auto* svc : svcs) {
    auto w = WaveSize(config, options, *svc, &plan.budget_notes);
    if (!w.ok()) return w.status();
    wave[svc->name] = *w;
  }
  if (options.mode == Mode::kRolling) {
    for (const auto* svc : svcs)
      AddWaves(config, options, *svc, v1::OPERATION_RESTART, true, wave[svc->name], &plan.steps);
  } else {
    for (const auto* svc : svcs) AddWaves(config, options, *svc, v1::OPERATION_STOP, false, wave[svc->name], &plan.steps);
    for (auto it = svcs.rbegin(); it != svcs.rend(); ++it)
      AddWaves(config, options, **it, v1::OPERATION_START, true, wave[(*it)->name], &plan.steps);
  }
  for (const auto& h : config.hosts) {
    std::vector<std::string> units;
    for (const auto* svc : svcs)
      if (std::find(h.units.begin(), h.units.end(), svc->unit) != h.units.end()) units.push_back(svc->unit);
    if (!units.empty()) plan.host_units.emplace_back(h.name, std::move(units));
  }
  plan.gates = PlanGates(config, {options.execute, options.require_healthy, options.force});
  return plan;
}

v1::StepRecord ToStepRecord(const PlannedStep& step) {
  v1::StepRecord r;
  r.set_id(step.id);
  r.set_service(step.service);
  r.set_operation(step.operation);
  for (const auto& h : step.hosts) r.add_hosts(h);
  for (const auto& p : step.probes) r.add_gate_probes(p.name());
  return r;
}

v1::ExecuteRequest ToExecuteRequest(const PlannedStep& step, const std::string& run_id) {
  v1::ExecuteRequest req;
  req.set_run_id(run_id);
  req.set_step_id(step.id);
  req.set_operation(step.operation);
  req.add_units(step.unit);
  req.set_dry_run(step.dry_run);
  for (const auto& p : step.probes) *req.add_probes() = p;
  req.set_job_timeout_ms(step.job_timeout_ms);
  req.set_lease_ms(step.lease_ms);
  req.set_allow_reset_failed(step.allow_reset_failed);
  req.set_restore_stopped(step.restore_stopped);
  req.set_healthy_for_ms(step.healthy_for_ms);
  return req;
}

std::vector<PlannedStep> PlanRecovery(const Config& config, const RunOptions& options, const std::string& host,
                                      const std::map<std::string, v1::UnitState>& initial,
                                      const std::vector<v1::UnitState>& now, bool run_failed) {
  // The restore half applies only after a failure: a successful run keeps what it did.
  const bool restore = options.failure_policy == FailurePolicy::kRestore && run_failed;
  std::vector<PlannedStep> steps;
  for (auto st = now.rbegin(); st != now.rend(); ++st) {
    auto it = initial.find(st->unit());
    if (it == initial.end()) continue;
    const bool was_active = IsActiveState(it->second.active_state());
    const bool is_active = IsActiveState(st->active_state());
    v1::Operation op = v1::OPERATION_UNSPECIFIED;
    if (was_active && !is_active) op = v1::OPERATION_START;
    if (restore && !was_active && is_active) op = v1::OPERATION_STOP;
    if (op == v1::OPERATION_UNSPECIFIED) continue;
    PlannedStep s;
    s.id = absl::StrCat("recover-", OperationName(op), "-", st->unit());
    s.unit = st->unit();
    s.operation = op;
    s.hosts = {host};
    Settle(config, options, &s);
    s.restore_stopped = op == v1::OPERATION_STOP;
    s.reason = absl::StrCat("recovery: ", st->unit(), " was ", it->second.active_state(), " before the run and is ",
                            st->active_state(), " now; ", OperationName(op), "ing it");
    steps.push_back(std::move(s));
  }
  return steps;
}

}  // namespace failover::coordinator
