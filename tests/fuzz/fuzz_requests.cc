// Fuzzes every request message the agent and the coordinator accept: the bytes are parsed as
// each message type (as gRPC would) and run through the same validators the services use.
#include <cstdint>
#include <string>

#include "agent/step_runner.h"
#include "coordinator/config.h"
#include "coordinator/planner.h"
#include "failover/probe_spec.h"
#include "failover/v1/agent.pb.h"
#include "failover/v1/coordinator.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto allow = *failover::UnitAllowlist::Create({"sls-*.service", "sls-monitor.timer"});
  failover::v1::ExecuteRequest exec;
  if (exec.ParseFromArray(data, static_cast<int>(size))) {
    absl::Status s = failover::agent::ValidateExecuteRequest(exec, allow);
    // A request that passes never names a unit off the allowlist or an invalid one.
    if (s.ok())
      for (const auto& u : exec.units())
        if (!allow.Check(u).ok()) __builtin_trap();
  }
  failover::v1::ProbeRequest probe;
  if (probe.ParseFromArray(data, static_cast<int>(size)))
    for (const auto& p : probe.probes()) (void)failover::ValidateProbeSpec(p);
  failover::v1::GetStateRequest get;
  if (get.ParseFromArray(data, static_cast<int>(size)))
    for (const auto& u : get.units()) (void)allow.Check(u);
  failover::v1::RenewLeaseRequest renew;
  if (renew.ParseFromArray(data, static_cast<int>(size))) (void)failover::agent::ValidateId("run_id", renew.run_id());
  failover::v1::RunRequest run;
  if (run.ParseFromArray(data, static_cast<int>(size)) && run.config_yaml().size() < 64 * 1024) {
    auto config = failover::coordinator::ParseConfig(run.config_yaml(), "fuzz.yaml", {});
    if (config.ok()) {
      auto o = failover::coordinator::ResolveOptions(*config, {run.services().begin(), run.services().end()},
                                                     run.mode(), run.failure_policy(), run.max_parallel(), false);
      if (o.ok()) (void)failover::coordinator::BuildPlan(*config, *o);
    }
  }
  return 0;
}
