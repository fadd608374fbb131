#include "coordinator/gate_plan.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace failover::coordinator {
namespace {

// Network slack of a Probe call on top of the probe's own deadline.
constexpr int64_t kProbeCallSlackMs = 5000;

PlannedGate Place(const GateConfig& g, GatePhase phase) {
  PlannedGate p;
  p.name = g.name;
  p.where = g.on;
  p.on_coordinator = g.on == kGateOnCoordinator;
  p.phase = phase;
  p.probe = g.probe;
  if (p.probe.name().empty()) p.probe.set_name(g.name);
  // Before and during, a gate reports the state as it is: one look, no waiting for it to heal.
  if (phase != GatePhase::kAfter) p.probe.set_deadline_ms(p.probe.timeout_ms());
  const int64_t ms = int64_t{std::max(p.probe.deadline_ms(), p.probe.timeout_ms())} + p.probe.timeout_ms();
  p.rpc_deadline = std::chrono::milliseconds(ms + kProbeCallSlackMs);
  return p;
}

}  // namespace

std::vector<GateConfig> ConfiguredGates(const Config& config) {
  std::vector<GateConfig> out;
  if (config.health_check.enabled)
    out.push_back({kHealthCheckGate, kGateOnCoordinator, HealthCheckProbe(config.health_check)});
  for (const auto& g : config.guards) out.push_back({g.probe.name(), g.host, g.probe});
  out.insert(out.end(), config.gates.begin(), config.gates.end());
  return out;
}

PlannedGate SinceRunStart(PlannedGate gate, int64_t run_started_us) {
  v1::UnitProbe* unit = gate.probe.has_unit() ? gate.probe.mutable_unit() : nullptr;
  if (unit != nullptr && !unit->result_unit().empty() && unit->no_failure_since_unix_us() == 0 && run_started_us > 0)
    unit->set_no_failure_since_unix_us(run_started_us);
  return gate;
}

GatePlan PlanGates(const Config& config, const GateOptions& options) {
  GatePlan plan;
  for (const auto& g : ConfiguredGates(config)) {
    plan.before.push_back(Place(g, GatePhase::kBefore));
    plan.after.push_back(Place(g, GatePhase::kAfter));
  }
  if (options.execute || options.health_query)
    for (const auto& g : config.stop_conditions) plan.during.push_back(Place(g, GatePhase::kDuring));
  if (options.health_query) {
    for (size_t i = 0; i < plan.after.size(); ++i)
      plan.health.push_back(plan.after[i].on_coordinator && plan.after[i].name == kHealthCheckGate ? plan.before[i]
                                                                                                 : plan.after[i]);
    plan.health.insert(plan.health.end(), plan.during.begin(), plan.during.end());
  }
  plan.watch_interval = std::chrono::milliseconds(config.defaults.stop_condition_interval_ms);
  plan.require_healthy = options.require_healthy;
  plan.force = options.force;
  plan.refuse_on_failure = options.execute && options.require_healthy && !options.force;
  return plan;
}

std::vector<std::string> FailingGates(const std::vector<v1::GateResult>& results) {
  std::vector<std::string> out;
  for (const auto& r : results)
    if (!r.passed()) out.push_back(absl::StrCat(r.name(), " on ", r.where(), ": ", r.message()));
  return out;
}

std::string RefusalReason(const GatePlan& plan, const std::vector<v1::GateResult>& before) {
  if (!plan.refuse_on_failure) return "";
  const std::vector<std::string> failing = FailingGates(before);
  if (failing.empty()) return "";
  return absl::StrCat("--require-healthy: ", failing.size(), " pre-flight gate(s) failing: ",
                      absl::StrJoin(failing, "; "), " (fix them, or pass --force to start anyway)");
}

v1::GateResult ToGateResult(const PlannedGate& gate, const v1::ProbeResult& r) {
  v1::GateResult g;
  g.set_name(gate.name);
  g.set_where(gate.where);
  g.set_target(r.target());
  g.set_kind(r.kind());
  g.set_passed(r.healthy());
  g.set_latency_us(r.latency_us());
  g.set_attempts(r.attempts());
  g.set_message(r.detail());
  g.set_finished_at_unix_us(r.finished_at_unix_us());
  g.set_phase(ToWire(gate.phase));
  return g;
}

std::string GatePhaseName(GatePhase p) {
  switch (p) {
    case GatePhase::kBefore: return "before";
    case GatePhase::kDuring: return "during";
    case GatePhase::kAfter: return "after";
  }
  return "?";
}

v1::GatePhase ToWire(GatePhase p) {
  switch (p) {
    case GatePhase::kBefore: return v1::GATE_PHASE_BEFORE;
    case GatePhase::kDuring: return v1::GATE_PHASE_DURING;
    case GatePhase::kAfter: return v1::GATE_PHASE_AFTER;
  }
  return v1::GATE_PHASE_UNSPECIFIED;
}

}  // namespace failover::coordinator
