#include "failover/kill_signal.h"

#include <csignal>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace failover {

absl::StatusOr<KillSignal> KillSignalFromWire(v1::ChaosSignal s, const std::string& field) {
  switch (s) {
    case v1::CHAOS_SIGNAL_KILL: return KillSignal::kKill;
    case v1::CHAOS_SIGNAL_TERM: return KillSignal::kTerm;
    case v1::CHAOS_SIGNAL_ABRT: return KillSignal::kAbrt;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": signal ", static_cast<int>(s), " is not one of KILL, TERM, ABRT"));
  }
}

v1::ChaosSignal KillSignalToWire(KillSignal s) {
  switch (s) {
    case KillSignal::kKill: return v1::CHAOS_SIGNAL_KILL;
    case KillSignal::kTerm: return v1::CHAOS_SIGNAL_TERM;
    case KillSignal::kAbrt: return v1::CHAOS_SIGNAL_ABRT;
  }
  return v1::CHAOS_SIGNAL_UNSPECIFIED;
}

absl::StatusOr<KillSignal> ParseKillSignal(const std::string& word) {
  std::string w = absl::AsciiStrToUpper(word);
  if (absl::StartsWith(w, "SIG")) w = w.substr(3);
  if (w == "KILL") return KillSignal::kKill;
  if (w == "TERM") return KillSignal::kTerm;
  if (w == "ABRT") return KillSignal::kAbrt;
  return absl::InvalidArgumentError(absl::StrCat("--signal \"", word, "\": use KILL, TERM or ABRT"));
}

std::string KillSignalName(KillSignal s) {
  switch (s) {
    case KillSignal::kKill: return "KILL";
    case KillSignal::kTerm: return "TERM";
    case KillSignal::kAbrt: return "ABRT";
  }
  return "?";
}

int KillSignalNumber(KillSignal s) {
  switch (s) {
    case KillSignal::kKill: return SIGKILL;
    case KillSignal::kTerm: return SIGTERM;
    case KillSignal::kAbrt: return SIGABRT;
  }
  return 0;
}

}  // namespace failover
