// Append-only audit trail of every state-changing action, before and after it, and of every
// refused request.
#pragma once

#include <mutex>
#include <string>

#include "absl/status/status.h"

namespace failover::agent {

struct AuditEntry {
  std::string run_id;
  std::string caller;     // verified certificate identity, "agent" for its own actions
  std::string unit;
  std::string operation;  // stop, start, reset-failed
  std::string phase;      // begin, end
  std::string result;     // "" for begin
};

// A request the agent refused (identity, allowlist, invalid or smuggled fields).
struct RefusalEntry {
  std::string caller;  // certificate identity ("" when none was presented)
  std::string peer;    // gRPC peer address, e.g. ipv4:10.77.0.1:53422
  std::string rpc;     // Execute, GetState, Probe, RenewLease
  std::string what;    // run/step/units of the request, as far as they are known
  std::string reason;  // the refusal's message, as the caller got it
};

class AuditLog {
 public:
  // `path` may be empty: entries then go to the log (journal) only.
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  // Appends one JSON line (O_APPEND, written before returning) and logs it. An error names the
  // audit log's path and the OS error: the caller must then not act (audit before action).
  absl::Status Record(const AuditEntry& e);
  // Appends one "refused" JSON line (with caller, peer address, what and why) and logs it.
  absl::Status RecordRefusal(const RefusalEntry& e);
  const std::string& path() const { return path_; }

 private:
  absl::Status Append(const std::string& line);
  std::string path_;
  std::mutex mu_;
};

}  // namespace failover::agent
