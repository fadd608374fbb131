// Health probes: HTTP, TCP connect, unit state. Kinds are fixed; nothing is ever executed.
// Interface only; the concrete runner is common/probe_runner.h, validation failover/probe_spec.h.
#pragma once

#include "failover/v1/agent.pb.h"
#include "failover/v1/report.pb.h"

namespace failover {

class ProbeRunner {
 public:
  virtual ~ProbeRunner() = default;
  // Runs the probe, retrying every interval_ms until healthy or deadline_ms passes.
  virtual v1::ProbeResult Run(const v1::ProbeSpec& spec) = 0;
};

}  // namespace failover
