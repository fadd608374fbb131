// Runs planned gates (gate_plan.h): on the coordinator through its own ProbeRunner, on a host
// through the agent's Probe RPC. Never fails: a missing runner, an unknown or unreachable host is
// a failed gate saying why. Pure over ProbeRunner and AgentClient.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "coordinator/gate_plan.h"
#include "failover/agent_client.h"
#include "failover/probe.h"

namespace failover::coordinator {

class GateRunner {
 public:
  GateRunner(ProbeRunner* coordinator, std::map<std::string, AgentClient*> clients)
      : coordinator_(coordinator), clients_(std::move(clients)) {}

  // One gate of run `run_id`; the result names the gate's probe and where it ran.
  v1::ProbeResult RunOne(const PlannedGate& gate, const std::string& run_id) const;
  // Every gate at once (one thread each); results in the order of `gates`.
  std::vector<v1::ProbeResult> RunAll(const std::vector<PlannedGate>& gates, const std::string& run_id) const;

 private:
  ProbeRunner* coordinator_;
  std::map<std::string, AgentClient*> clients_;
};

// A failed result of `gate` saying `why` (nothing was probed).
v1::ProbeResult FailedGateProbe(const PlannedGate& gate, const std::string& why);

}  // namespace failover::coordinator
