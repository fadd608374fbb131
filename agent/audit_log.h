// Append-only audit trail of every state-changing action, before and after it.
#pragma once

#include <mutex>
#include <string>

namespace failover::agent {

struct AuditEntry {
  std::string run_id;
  std::string caller;     // verified certificate identity, "agent" for its own actions
  std::string unit;
  std::string operation;  // stop, start, reset-failed
  std::string phase;      // begin, end
  std::string result;     // "" for begin
};

class AuditLog {
 public:
  // `path` may be empty: entries then go to the log (journal) only.
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  // Appends one JSON line (O_APPEND, flushed before returning) and logs it.
  void Record(const AuditEntry& e);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::mutex mu_;
};

}  // namespace failover::agent
