// Read-only views beside the planner: what the Plan RPC answers (the steps and every agent's
// current state) and what the Health RPC answers (every probe, changing nothing).
#pragma once

#include <map>
#include <string>

#include "coordinator/config.h"
#include "coordinator/planner.h"
#include "failover/agent_client.h"
#include "failover/probe.h"
#include "failover/v1/coordinator.pb.h"

namespace failover::coordinator {

// The plan's steps, and per host of the plan its units' state, the run holding it and what its
// agent did on its own; an agent that does not answer is listed in unreachable_hosts.
v1::PlanResponse PreviewPlan(const Plan& plan, const std::map<std::string, AgentClient*>& clients);

// Every configured service's probes on every host that runs it (HostsRunning; the planned ones
// first, in plan order, then the rest, so sls-panel is checked even when --services omits it),
// then the guards, then the global health check on `coordinator_probes` (may be null when the check is off).
v1::HealthResponse HealthSweep(const Config& config, const Plan& plan, const std::map<std::string, AgentClient*>& clients,
                               ProbeRunner* coordinator_probes);

}  // namespace failover::coordinator
