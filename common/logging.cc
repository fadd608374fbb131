#include "failover/logging.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

#include "absl/strings/str_replace.h"
#include "spdlog/sinks/stdout_color_sinks.h"

namespace failover {
namespace {
std::mutex g_secrets_mu;
std::vector<std::string>& Secrets() {
  static std::vector<std::string> secrets;
  return secrets;
}
}  // namespace

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = spdlog::stderr_color_mt(name);
  // journald stamps lines itself; elsewhere UTC time with milliseconds and a Z, as the reports.
  logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "[%n] %l: %v" : "%Y-%m-%dT%H:%M:%S.%eZ [%n] %l: %v",
                      spdlog::pattern_time_type::utc);
  if (const char* level = std::getenv("FAILOVER_LOG_LEVEL")) logger->set_level(spdlog::level::from_str(level));
  return logger;
}

void RegisterSecret(const std::string& value) {
  if (value.size() < 4) return;  // too short to redact without mangling ordinary text
  std::lock_guard<std::mutex> lock(g_secrets_mu);
  auto& secrets = Secrets();
  if (std::find(secrets.begin(), secrets.end(), value) == secrets.end()) secrets.push_back(value);
}

std::string Redact(std::string text) {
  std::lock_guard<std::mutex> lock(g_secrets_mu);
  for (const auto& s : Secrets()) text = absl::StrReplaceAll(text, {{s, "[REDACTED]"}});
  return text;
}

}  // namespace failover
