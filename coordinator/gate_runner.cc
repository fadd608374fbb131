#include "coordinator/gate_runner.h"


#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "failover/worker_pool.h"

namespace failover::coordinator {

v1::ProbeResult FailedGateProbe(const PlannedGate& gate, const std::string& why) {
  v1::ProbeResult r;
  r.set_name(gate.probe.name());
  r.set_host(gate.where);
  r.set_healthy(false);
  r.set_detail(why);
  return r;
}

v1::ProbeResult GateRunner::RunOne(const PlannedGate& gate, const std::string& run_id) const {
  if (gate.on_coordinator) {
    if (coordinator_ == nullptr) return FailedGateProbe(gate, "the coordinator has no probe runner");
    v1::ProbeResult r = coordinator_->Run(gate.probe);
    r.set_host(kGateOnCoordinator);
    return r;
  }
  auto it = clients_.find(gate.where);
  if (it == clients_.end()) return FailedGateProbe(gate, "no agent client for host " + gate.where);
  v1::ProbeRequest req;
  req.set_run_id(run_id);
  *req.add_probes() = gate.probe;
  auto resp = it->second->Probe(req, gate.rpc_deadline);
  if (!resp.ok())
    return FailedGateProbe(gate, absl::StrCat("agent on host ", gate.where, " did not run the probe: ",
                                              Redact(std::string(resp.status().message()))));
  if (resp->results_size() != 1) return FailedGateProbe(gate, "agent on host " + gate.where + " returned no result");
  v1::ProbeResult r = resp->results(0);
  r.set_host(gate.where);
  return r;
}

std::vector<v1::ProbeResult> GateRunner::RunAll(const std::vector<PlannedGate>& gates,
                                                const std::string& run_id) const {
  std::vector<v1::ProbeResult> results(gates.size());
  ParallelFor(gates.size(), [&](size_t i) { results[i] = RunOne(gates[i], run_id); });
  return results;
}

}  // namespace failover::coordinator
