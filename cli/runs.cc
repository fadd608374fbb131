// failoverctl runs: the coordinator's run history, newest first, filtered by time, service, outcome.
#include <iostream>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "cli/common.h"
#include "failover/clock.h"
#include "coordinator/run_executor.h"

namespace failover::cli {
namespace {

// "7d", "12h", "30m" (ago), or a date "2026-11-29" / time "2026-11-29T10:15:00Z" (UTC).
std::optional<int64_t> ParseSince(const std::string& word, int64_t now_us) {
  if (word.empty()) return 0;
  const char unit = word.back();
  int64_t n = 0;
  const std::map<char, int64_t> units = {{'d', 86400}, {'h', 3600}, {'m', 60}};
  if (units.count(unit) != 0 && absl::SimpleAtoi(word.substr(0, word.size() - 1), &n) && n >= 0)
    return now_us - n * units.at(unit) * 1'000'000;
  absl::Time t;
  std::string err;
  for (const char* fmt : {"%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S%Ez"})
    if (absl::ParseTime(fmt, word, absl::UTCTimeZone(), &t, &err)) return absl::ToUnixMicros(t);
  return std::nullopt;
}

const std::map<std::string, v1::RunOutcome>& StatusWords() {
  static const auto* words = new std::map<std::string, v1::RunOutcome>{
      {"succeeded", v1::RUN_SUCCEEDED}, {"failed", v1::RUN_FAILED},       {"aborted", v1::RUN_ABORTED},
      {"interrupted", v1::RUN_INTERRUPTED}, {"refused", v1::RUN_REFUSED}, {"running", v1::RUN_RUNNING}};
  return *words;
}

void PrintRuns(const v1::HistoryListRunsResponse& resp) {
  std::cout << absl::StrFormat("%-22s %-20s %-11s %-14s %-12s %s\n", "RUN", "STARTED (UTC)", "OUTCOME", "KIND",
                               "MAX DOWN", "SERVICES");
  for (const auto& r : resp.runs())
    std::cout << absl::StrFormat("%-22s %-20s %-11s %-14s %-12s %s\n", r.run_id(),
                                 FormatUnixUs(r.started_at_unix_us()).substr(0, 19),
                                 coordinator::OutcomeName(r.outcome()),
                                 absl::StrCat(r.kind() == v1::RUN_KIND_INJECT  ? "inject "
                                              : r.kind() == v1::RUN_KIND_CHAOS ? "chaos "
                                                                               : "",
                                              r.dry_run() ? "dry" : "executed"),
                                 r.dry_run() ? "-" : Ms(r.max_downtime_us()), absl::StrJoin(r.services(), ","));
  std::cout << resp.runs_size() << " run(s)\n";
}

}  // namespace

void AddRunsFlags(CLI::App* cmd, RunsFlags* f) {
  cmd->add_option("--since", f->since, "only runs started since: 7d, 12h, 30m ago, or a UTC date 2026-11-29[T10:15:00Z]");
  cmd->add_option("--service", f->service, "only runs whose order holds this service");
  std::vector<std::string> words;
  for (const auto& [w, o] : StatusWords()) words.push_back(w);
  cmd->add_option("--status", f->status, "only runs with this outcome")->check(CLI::IsMember(words));
  cmd->add_option("--limit", f->limit, "at most this many runs (default 1000)");
  cmd->add_option("-o,--output", f->output, "format: text or json")->check(CLI::IsMember({"text", "json"}));
}

int RunRuns(const GlobalOptions& g, const RunsFlags& f) {
  v1::HistoryListRunsRequest req;
  auto since = ParseSince(f.since, absl::ToUnixMicros(absl::Now()));
  if (!since) {
    std::cerr << "failoverctl runs: --since \"" << f.since << "\": use 7d, 12h, 30m or a UTC date like 2026-11-29\n";
    return kExitUsage;
  }
  req.set_since_unix_us(*since);
  req.set_service(f.service);
  if (!f.status.empty()) req.set_outcome(StatusWords().at(f.status));
  req.set_limit(f.limit);
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::HistoryListRunsResponse resp;
  grpc::Status s = stub->ListRuns(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("runs", s, g);
  if (f.output == "json") PrintJson(resp);
  else PrintRuns(resp);
  return kExitOk;
}

}  // namespace failover::cli
