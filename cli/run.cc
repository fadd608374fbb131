// failoverctl run: runs a failover (dry run unless --execute) with live progress.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/common.h"

namespace failover::cli {
namespace {

std::atomic<bool> interrupted{false};

// Sends Abort for the run; prints what the coordinator answered.
void SendAbort(v1::Coordinator::Stub* stub, const std::string& run_id) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::AbortRequest req;
  req.set_run_id(run_id);
  v1::AbortResponse resp;
  grpc::Status s = stub->Abort(&ctx, req, &resp);
  if (s.ok()) std::cerr << "failoverctl: " << resp.message() << "\n";
  else std::cerr << "failoverctl: abort of run " << run_id << " failed: " << s.error_message() << "\n";
}

// Ctrl-C during an executed run: on a TTY asks whether to abort (y/N); without one aborts. The
// run keeps streaming meanwhile: an abort still ends with the restore and the report.
class CtrlC {
 public:
  explicit CtrlC(v1::Coordinator::Stub* stub) : stub_(stub) {
    std::signal(SIGINT, [](int) { interrupted = true; });
    std::thread([this] { Watch(); }).detach();
  }
  void SetRunId(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    if (run_id_.empty()) run_id_ = id;
  }

 private:
  void Watch() {
    while (true) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!interrupted.exchange(false)) continue;
      std::string id;
      {
        std::lock_guard<std::mutex> lock(mu_);
        id = run_id_;
      }
      if (id.empty()) continue;  // not started yet: the run has changed nothing to abort
      if (isatty(STDIN_FILENO)) {
        std::cerr << "\nabort run " << id << "? it stops at its next safe point and restores what it changed (y/N) ";
        std::string answer;
        if (!std::getline(std::cin, answer) || (answer != "y" && answer != "Y" && answer != "yes")) {
          std::cerr << "failoverctl: not aborting; the run goes on\n";
          continue;
        }
      }
      SendAbort(stub_, id);
    }
  }
  v1::Coordinator::Stub* stub_;  // never freed: lives as long as the process
  std::mutex mu_;
  std::string run_id_;
};

// The outcome, the summary and the report files (only those written) on stdout; with -o json the
// last JSON line already carried the report.
int PrintOutcome(const RunFlags& f, const v1::Report& report) {
  if (!f.Json()) {
    std::cout << "outcome: " << v1::RunOutcome_Name(report.outcome()).substr(4) << "\n";
    std::cout << "summary: " << report.summary() << "\n";
    if (!report.stopped_by().empty()) std::cout << "stopped by: " << report.stopped_by() << "\n";
    for (const auto& path : report.files()) std::cout << "report:  " << path << "\n";
  }
  if (!report.files_error().empty()) {
    std::cerr << "failoverctl: the report files could NOT be written: " << report.files_error()
              << "\nfailoverctl: the coordinator keeps the report: failoverctl report " << report.run_id() << "\n";
    if (report.outcome() == v1::RUN_SUCCEEDED) return kExitEvidenceLost;
  }
  return report.outcome() == v1::RUN_SUCCEEDED ? kExitOk : kExitFailed;
}

}  // namespace

int RunRun(const GlobalOptions& g, const RunFlags& f) {
  v1::RunRequest req;
  if (!BuildRunRequest(f, &req)) return kExitUsage;
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(g.timeout_s));
  auto reader = stub->Run(&ctx, req);
  return FollowRun(g, f, std::move(stub), std::move(reader));
}

int FollowRun(const GlobalOptions& g, const RunFlags& f, std::unique_ptr<v1::Coordinator::Stub> stub,
              std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader) {
  // Leaked on purpose with its stub: its watcher thread may still run when this returns.
  CtrlC* ctrl_c = f.execute ? new CtrlC(stub.release()) : nullptr;
  LivePrinter live(LiveStyleFor(f), isatty(STDERR_FILENO));
  v1::RunEvent e;
  v1::Report report;
  bool have_report = false;
  std::string run_id;
  while (reader->Read(&e)) {
    if (run_id.empty()) run_id = e.run_id();
    if (ctrl_c) ctrl_c->SetRunId(e.run_id());
    if (e.has_report()) {
      report = e.report();
      have_report = true;
    }
    // Rows or lines on stderr so stdout stays clean data (the report path); -o json: JSON lines on stdout.
    live.OnEvent(e);
  }
  live.Finish();
  grpc::Status s = reader->Finish();
  if (!s.ok() && !run_id.empty() && !have_report) {
    std::cerr << "failoverctl: run " << run_id << ": the stream from the coordinator broke mid-run ("
              << s.error_message() << "); the agents restore what they hold when the run's lease expires, and "
              << "`failoverctl report " << run_id << "` shows the run once a coordinator is back\n";
    return kExitFailed;
  }
  if (!s.ok()) return ReportRpcError("run", s, g);
  if (!have_report) {
    std::cerr << "failoverctl: the coordinator ended the run without a report\n";
    return kExitFailed;
  }
  return PrintOutcome(f, report);
}

int RunAbort(const GlobalOptions& g, const std::string& run_id, bool json) {
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::AbortRequest req;
  req.set_run_id(run_id);
  v1::AbortResponse resp;
  grpc::Status s = stub->Abort(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("abort", s, g);
  if (json) PrintJson(resp);
  else std::cout << resp.message() << "\n";
  return kExitOk;
}

}  // namespace failover::cli
