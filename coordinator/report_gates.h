// The gates of a run (before, after, stop conditions) as the rows and lines every report format
// shows. Pure: no gRPC, curl or sdbus-c++.
#pragma once

#include <string>
#include <vector>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// Column heads of GateRows.
const std::vector<std::string>& GateColumns();
// One row per gate evaluation, the state before first then after: phase, gate, where, result
// ("PASSED"/"FAILED"), latency, attempts, target, message.
std::vector<std::vector<std::string>> GateRows(const v1::Report& r);
// Lines about the run's gate settings and events: require-healthy, forced and its failing
// gates, the stop conditions watched and the one that tripped. Empty when there is nothing to say.
std::vector<std::string> GateNotes(const v1::Report& r);
// "stop condition NAME on WHERE tripped at TIME: MESSAGE (N step(s) started)"; "" when none did.
std::string StopConditionText(const v1::Report& r);

}  // namespace failover::coordinator
