#include "coordinator/run_store.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "coordinator/report_writer.h"
#include "google/protobuf/util/json_util.h"

namespace failover::coordinator {
namespace {

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// temp + rename; a failed write leaves no .tmp behind (the in-memory copy still answers).
void WriteAtomically(const std::string& path, const std::string& text) {
  std::error_code ec;
  std::ofstream out(path + ".tmp", std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::filesystem::remove(path + ".tmp", ec);
    return;
  }
  std::filesystem::rename(path + ".tmp", path, ec);
  if (ec) std::filesystem::remove(path + ".tmp", ec);
}

bool SafeRunId(const std::string& id) { return !id.empty() && id.find('/') == std::string::npos && id[0] != '.'; }

}  // namespace

FileRunStore::FileRunStore(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(RunsDir(), ec);
  for (const auto& entry : std::filesystem::directory_iterator(RunsDir(), ec)) {
    if (entry.path().extension() != ".json") continue;
    auto text = ReadText(entry.path().string());
    v1::Report report;
    if (!text || !google::protobuf::util::JsonStringToMessage(*text, &report).ok()) continue;
    std::lock_guard<std::mutex> lock(mu_);
    Remember(report);
    if (report.outcome() == v1::RUN_RUNNING) found_running_.insert(report.run_id());
  }
}

void FileRunStore::Remember(const v1::Report& report) {
  reports_[report.run_id()] = report;
  if (report.outcome() == v1::RUN_RUNNING) return;
  auto latest = reports_.find(latest_);
  if (latest == reports_.end() || latest->second.started_at_unix_us() <= report.started_at_unix_us())
    latest_ = report.run_id();
}

void FileRunStore::Save(const v1::Report& report) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    Remember(report);
  }
  if (dir_.empty() || !SafeRunId(report.run_id())) return;
  WriteAtomically(RunsDir() + "/" + report.run_id() + ".json", RenderJson(report));
}

void FileRunStore::SaveRequestConfig(const std::string& run_id, const std::string& yaml) {
  if (dir_.empty() || !SafeRunId(run_id)) return;
  WriteAtomically(RunsDir() + "/" + run_id + ".config.yaml", yaml);
}

std::string FileRunStore::RequestConfig(const std::string& run_id) {
  if (dir_.empty() || !SafeRunId(run_id)) return "";
  return ReadText(RunsDir() + "/" + run_id + ".config.yaml").value_or("");
}

absl::StatusOr<v1::Report> FileRunStore::Get(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string id = run_id.empty() ? latest_ : run_id;
  auto it = reports_.find(id);
  if (it != reports_.end()) return it->second;
  return absl::NotFoundError(id.empty() ? "no run yet" : "no report for run " + id);
}

std::vector<v1::Report> FileRunStore::Interrupted() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<v1::Report> out;
  for (const auto& id : found_running_) {
    auto it = reports_.find(id);
    if (it != reports_.end() && it->second.outcome() == v1::RUN_RUNNING) out.push_back(it->second);
  }
  return out;
}

absl::Status HostClaims::Claim(const std::vector<std::string>& hosts, const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& host : hosts) {
    auto it = busy_.find(host);
    if (it != busy_.end())
      return absl::FailedPreconditionError(
          absl::StrCat("host ", host, " is already in run ", it->second, "; refusing to start a second run on it"));
  }
  for (const auto& host : hosts) busy_[host] = run_id;
  return absl::OkStatus();
}

void HostClaims::Release(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = busy_.begin(); it != busy_.end();) it = it->second == run_id ? busy_.erase(it) : std::next(it);
}

}  // namespace failover::coordinator
