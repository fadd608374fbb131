#include "coordinator/run_store.h"

#include <algorithm>
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

// Appends one line (O_APPEND); a failed write leaves the in-memory copy answering.
void AppendLine(const std::string& path, const std::string& line) {
  std::ofstream out(path, std::ios::app);
  out << line << '\n';
}

std::string OneLineJson(const v1::Report& report) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(report, &json);  // no whitespace: one line
  return json;
}

template <typename Field, typename Add>
void AppendNew(const Field& all, int* done, Add add) {
  for (int i = *done; i < all.size(); ++i) *add() = all.Get(i);
  *done = all.size();
}

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
  for (const auto& entry : std::filesystem::directory_iterator(RunsDir(), ec))
    if (entry.path().extension() == ".journal") ReadJournal(entry.path().string());
}

void ApplyJournalDelta(const v1::Report& delta, v1::Report* report) {
  for (const auto& step : delta.steps()) {
    auto* steps = report->mutable_steps();
    auto it = std::find_if(steps->begin(), steps->end(), [&](const v1::StepRecord& s) { return s.id() == step.id(); });
    if (it != steps->end()) *it = step;
    else *report->add_steps() = step;
  }
  for (const auto& x : delta.initial_state()) *report->add_initial_state() = x;
  for (const auto& x : delta.operations()) *report->add_operations() = x;
  for (const auto& x : delta.health()) *report->add_health() = x;
  for (const auto& x : delta.final_state()) *report->add_final_state() = x;
  for (const auto& x : delta.errors()) report->add_errors(x);
}

void FileRunStore::ReadJournal(const std::string& path) {
  const std::string id = std::filesystem::path(path).stem().string();
  std::error_code ec;
  if (std::filesystem::exists(RunsDir() + "/" + id + ".json", ec)) {
    std::lock_guard<std::mutex> lock(mu_);
    if (reports_.count(id) && reports_[id].outcome() != v1::RUN_RUNNING) {
      std::filesystem::remove(path, ec);  // the final report was written; the journal is spent
      return;
    }
  }
  std::ifstream in(path);
  std::string line;
  v1::Report report;
  bool first = true;
  while (std::getline(in, line)) {
    v1::Report delta;
    if (!google::protobuf::util::JsonStringToMessage(line, &delta).ok()) break;  // a torn last line
    if (first) report = std::move(delta);
    else ApplyJournalDelta(delta, &report);
    first = false;
  }
  if (first || report.run_id() != id) return;
  std::lock_guard<std::mutex> lock(mu_);
  Remember(report);
  if (report.outcome() == v1::RUN_RUNNING) found_running_.insert(id);
}

std::string FileRunStore::JournalLine(const v1::Report& report, bool first, Journaled* j) {
  v1::Report delta;
  if (first) delta = report;
  for (const auto& step : report.steps()) {
    std::string bytes = step.SerializeAsString();
    std::string& known = j->steps[step.id()];
    if (known == bytes) continue;
    known = std::move(bytes);
    if (!first) *delta.add_steps() = step;
  }
  if (first) {
    j->initial_state = report.initial_state_size();
    j->operations = report.operations_size();
    j->health = report.health_size();
    j->final_state = report.final_state_size();
    j->errors = report.errors_size();
    return OneLineJson(delta);
  }
  AppendNew(report.initial_state(), &j->initial_state, [&] { return delta.add_initial_state(); });
  AppendNew(report.operations(), &j->operations, [&] { return delta.add_operations(); });
  AppendNew(report.health(), &j->health, [&] { return delta.add_health(); });
  AppendNew(report.final_state(), &j->final_state, [&] { return delta.add_final_state(); });
  AppendNew(report.errors(), &j->errors, [&] { return delta.add_errors(); });
  return OneLineJson(delta);
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
  const std::string base = RunsDir() + "/" + report.run_id();
  if (report.outcome() == v1::RUN_RUNNING) {
    std::string line;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const bool first = !journaled_.count(report.run_id());
      line = JournalLine(report, first, &journaled_[report.run_id()]);
    }
    AppendLine(base + ".journal", line);
    return;
  }
  WriteAtomically(base + ".json", RenderJson(report));
  std::error_code ec;
  std::filesystem::remove(base + ".journal", ec);
  std::lock_guard<std::mutex> lock(mu_);
  journaled_.erase(report.run_id());
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
