// The signals an injected fault may send (failoverctl inject/chaos): a closed set. The wire has
// v1::ChaosSignal, the CLI has words, systemd's KillUnit takes the signal number.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "failover/v1/report.pb.h"

namespace failover {

enum class KillSignal { kKill, kTerm, kAbrt };

// INVALID_ARGUMENT naming the field for CHAOS_SIGNAL_UNSPECIFIED or an unknown value.
absl::StatusOr<KillSignal> KillSignalFromWire(v1::ChaosSignal s, const std::string& field);
v1::ChaosSignal KillSignalToWire(KillSignal s);
// "KILL", "TERM", "ABRT" (case-insensitive, an optional "SIG" prefix); INVALID_ARGUMENT otherwise.
absl::StatusOr<KillSignal> ParseKillSignal(const std::string& word);
// "KILL", "TERM", "ABRT".
std::string KillSignalName(KillSignal s);
// The POSIX signal number systemd's KillUnit sends (9, 15, 6).
int KillSignalNumber(KillSignal s);

}  // namespace failover
