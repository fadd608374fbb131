#include "audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

std::string Now() { return Json(FormatUnixUs(RealClock::Get()->NowUnixUs())); }
}  // namespace

absl::Status AuditLog::Record(const AuditEntry& e) {
  return Append(absl::StrCat("{\"time\":", Now(), ",\"run\":", Json(e.run_id), ",\"caller\":", Json(e.caller),
                             ",\"unit\":", Json(e.unit), ",\"operation\":", Json(e.operation),
                             ",\"phase\":", Json(e.phase), ",\"result\":", Json(Redact(e.result)), "}\n"));
}

absl::Status AuditLog::RecordRefusal(const RefusalEntry& e) {
  return Append(absl::StrCat("{\"time\":", Now(), ",\"event\":\"refused\",\"caller\":", Json(e.caller),
                             ",\"peer\":", Json(e.peer), ",\"rpc\":", Json(e.rpc), ",\"request\":",
                             Json(Redact(e.what)), ",\"reason\":", Json(Redact(e.reason)), "}\n"));
}

absl::Status AuditLog::Append(const std::string& line) {
  GetLogger("audit")->info("{}", line.substr(0, line.size() - 1));
  if (path_.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    GetLogger("audit")->error("cannot open audit log {}: {}", path_, std::strerror(err));
    return absl::UnavailableError(absl::StrCat("cannot open audit log ", path_, ": ", std::strerror(err)));
  }
  const ssize_t n = write(fd, line.data(), line.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(line.size())) {
    const std::string why = n < 0 ? std::strerror(err) : absl::StrCat("short write (", n, " of ", line.size(), " bytes)");
    GetLogger("audit")->error("cannot write audit log {}: {}", path_, why);
    return absl::UnavailableError(absl::StrCat("cannot write audit log ", path_, ": ", why));
  }
  return absl::OkStatus();
}

}  // namespace failover::agent
