#include "audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "failover/clock.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {
std::string Json(const std::string& s) {
  std::string out = absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}, {"\r", "\\r"}, {"\t", "\\t"}});
  std::string clean;
  for (char c : out) clean += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  return absl::StrCat("\"", clean, "\"");
}
}  // namespace

void AuditLog::Record(const AuditEntry& e) {
  const std::string line = absl::StrCat(
      "{\"time\":", Json(FormatUnixUs(RealClock::Get()->NowUnixUs())), ",\"run\":", Json(e.run_id),
      ",\"caller\":", Json(e.caller), ",\"unit\":", Json(e.unit), ",\"operation\":", Json(e.operation),
      ",\"phase\":", Json(e.phase), ",\"result\":", Json(Redact(e.result)), "}\n");
  GetLogger("audit")->info("{}", line.substr(0, line.size() - 1));
  if (path_.empty()) return;
  std::lock_guard<std::mutex> lock(mu_);
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    GetLogger("audit")->error("cannot open audit log {}: {}", path_, strerror(errno));
    return;
  }
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    GetLogger("audit")->error("short write to audit log {}", path_);
  close(fd);
}

}  // namespace failover::agent
