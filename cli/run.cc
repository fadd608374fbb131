// failoverctl run: runs a failover (dry run unless --execute) with live progress.
#include <unistd.h>

#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/common.h"

namespace failover::cli {
namespace {

const char* Mark(v1::EventSeverity s) {
  switch (s) {
    case v1::SEVERITY_ERROR: return "✗";
    case v1::SEVERITY_OK: return "✓";
    case v1::SEVERITY_WARN: return "!";
    default: return "·";
  }
}

const char* Color(v1::EventSeverity s) {
  switch (s) {
    case v1::SEVERITY_ERROR: return "\033[31m";
    case v1::SEVERITY_OK: return "\033[32m";
    case v1::SEVERITY_WARN: return "\033[33m";
    default: return "";
  }
}

}  // namespace

int RunRun(const GlobalOptions& g, const RunFlags& f) {
  v1::RunRequest req;
  if (!BuildRunRequest(f, &req)) return kExitUsage;
  auto stub = Connect(g);
  if (!stub) return kExitUsage;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_s));
  auto reader = stub->Run(&ctx, req);
  const bool color = isatty(STDERR_FILENO);
  v1::RunEvent e;
  v1::Report report;
  bool have_report = false;
  while (reader->Read(&e)) {
    if (e.has_report()) {
      report = e.report();
      have_report = true;
    }
    // Progress goes to stderr so stdout stays clean data (the report path / JSON).
    const char* mark = Mark(e.level());
    const char* on = color ? Color(e.level()) : "";
    std::cerr << absl::StrFormat("%s[%8.3fs] %s %-10s %-24s %s%s\n", on, e.elapsed_us() / 1e6, mark,
                                 e.host().empty() ? "-" : e.host(), e.unit().empty() ? "-" : e.unit(), e.message(),
                                 color && *on ? "\033[0m" : "");
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) return ReportRpcError("run", s, g);
  if (!have_report) {
    std::cerr << "failoverctl: the coordinator ended the run without a report\n";
    return kExitFailed;
  }
  if (f.json) {
    PrintJson(report);
  } else {
    std::cout << "outcome: " << v1::RunOutcome_Name(report.outcome()).substr(4) << "\n";
    std::cout << "summary: " << report.summary() << "\n";
    for (const auto& path : report.files()) std::cout << "report:  " << path << "\n";
  }
  return report.outcome() == v1::RUN_SUCCEEDED ? kExitOk : kExitFailed;
}

}  // namespace failover::cli
