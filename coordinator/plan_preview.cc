#include "coordinator/plan_preview.h"

#include <algorithm>

#include "coordinator/gate_plan.h"
#include "coordinator/gate_runner.h"
#include "coordinator/wire_enums.h"

namespace failover::coordinator {

v1::PlanResponse PreviewPlan(const Plan& plan, const std::map<std::string, AgentClient*>& clients) {
  v1::PlanResponse resp;
  for (const auto& s : plan.steps) *resp.add_steps() = ToStepRecord(s);
  resp.set_mode(ModeName(plan.options.mode));
  resp.set_mode_kind(ToWire(plan.options.mode));
  for (const auto& s : plan.services) resp.add_services(s);
  for (const auto& n : plan.budget_notes) resp.add_budget_notes(n);
  for (const auto& [host, units] : plan.host_units) {
    auto client = clients.find(host);
    if (client == clients.end()) {
      (*resp.mutable_unreachable_hosts())[host] = "no agent client for host " + host;
      continue;
    }
    v1::GetStateRequest sreq;
    for (const auto& u : units) sreq.add_units(u);
    auto st = client->second->GetState(sreq);
    if (!st.ok()) {
      (*resp.mutable_unreachable_hosts())[host] = std::string(st.status().message());
      continue;
    }
    for (const auto& u : st->units()) *resp.add_current_state() = u;
    if (!st->held_by_run().empty()) (*resp.mutable_held_by_run())[host] = st->held_by_run();
    for (const auto& op : st->autonomous_operations()) *resp.add_agent_actions() = op;
  }
  return resp;
}

namespace {

// Runs `probes` on `host`, one look each (a health query answers now; it does not wait for a
// service to heal); an agent that does not answer counts as one unhealthy result.
bool ProbeOn(AgentClient* client, const std::string& host, const std::string& name,
             const std::vector<v1::ProbeSpec>& probes, v1::HealthResponse* resp) {
  v1::ProbeRequest preq;
  for (const auto& pr : probes) {
    v1::ProbeSpec* p = preq.add_probes();
    *p = pr;
    p->set_deadline_ms(p->timeout_ms());
  }
  auto r = client != nullptr ? client->Probe(preq, std::chrono::seconds(60))
                             : absl::StatusOr<v1::ProbeResponse>(absl::NotFoundError("no agent client for host " + host));
  if (!r.ok()) {
    auto* res = resp->add_results();
    res->set_host(host);
    res->set_name(name);
    res->set_detail(std::string(r.status().message()));
    return false;
  }
  bool healthy = true;
  for (const auto& res : r->results()) {
    healthy = healthy && res.healthy();
    *resp->add_results() = res;
  }
  return healthy;
}

}  // namespace

v1::HealthResponse HealthSweep(const Config& config, const Plan& plan, const std::map<std::string, AgentClient*>& clients,
                               ProbeRunner* coordinator_probes) {
  v1::HealthResponse resp;
  bool healthy = true;
  auto client_of = [&](const std::string& host) {
    auto it = clients.find(host);
    return it == clients.end() ? nullptr : it->second;
  };
  // The planned services first, in their order, then every other configured one (sls-panel too
  // when --services leaves it out): health answers for the whole system, not for one run.
  std::vector<std::string> names = plan.services;
  for (const auto& svc : config.services)
    if (std::find(names.begin(), names.end(), svc.name) == names.end()) names.push_back(svc.name);
  for (const auto& name : names) {
    const ServiceConfig* svc = config.FindService(name);
    if (svc == nullptr || svc->probes.empty()) continue;
    for (const auto& host : HostsRunning(config, svc->unit))
      healthy = ProbeOn(client_of(host), host, name, svc->probes, &resp) && healthy;
  }
  // Then every configured gate (guards and gates: as after a run, waiting up to their deadline;
  // the global health check and the stop conditions one look each: they answer for "now").
  GateOptions query;
  query.health_query = true;
  for (const auto& r : GateRunner(coordinator_probes, clients).RunAll(PlanGates(config, query).health, "health")) {
    healthy = healthy && r.healthy();
    *resp.add_results() = r;
  }
  resp.set_healthy(healthy);
  return resp;
}

}  // namespace failover::coordinator
