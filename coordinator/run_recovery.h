// Runs whose coordinator died: marked interrupted, reconciled with what their agents did on their
// own, reported and journaled. Waits use the injected Clock.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/agent_client_factory.h"
#include "coordinator/config.h"
#include "coordinator/run_store.h"
#include "failover/clock.h"

namespace failover::coordinator {

// Rewrites a journal snapshot of a run whose coordinator died as an interrupted run.
void MarkInterrupted(v1::Report* report);

// Asks each host's agent how its units are now and what it did on its own for the run; waits
// (up to two half-leases on `clock`) while an agent still holds the run, so its own restores are included.
void ReconcileWithAgents(const Config& config, AgentClientFactory* agents, Clock* clock, v1::Report* report);

struct RecoveryDeps {
  RunStore* runs = nullptr;
  AgentClientFactory* agents = nullptr;
  Clock* clock = nullptr;
  // The config a journaled run used: its request's (yaml non-empty) or the coordinator's own.
  std::function<absl::StatusOr<Config>(const std::string& request_yaml, const std::string& path)> config_for;
  // Writes the report files; returns the text report's path.
  std::function<absl::StatusOr<std::string>(const Config&, v1::Report*)> write_report;
};

// Every interrupted run of the store: marked, reconciled, reported, saved. Returns how many.
int RecoverInterruptedRuns(const RecoveryDeps& deps);

}  // namespace failover::coordinator
