// What every failoverctl subcommand shares: connection, the run request, exit codes.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "cli/live_view.h"
#include "failover/tls.h"
#include "failover/v1/coordinator.grpc.pb.h"

namespace failover::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
// The failover itself succeeded but its report files could not be written (the coordinator still
// has the report: failoverctl report RUN).
inline constexpr int kExitEvidenceLost = 3;
// For `failoverctl --help`; README's CLI section has the same table.
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 failed, refused, aborted or the coordinator went away; 2 usage or config error; "
    "3 the failover succeeded but its report files could not be written (failoverctl report RUN still has it).";

struct GlobalOptions {
  std::string coordinator = "unix:/run/failover/coordinator.sock";
  TlsFiles tls;
  std::string tls_server_name;
  int timeout_s = 3600;
  double connect_timeout_s = 5;  // TCP connect + TLS handshake
};

struct RunFlags {
  std::string config_path;
  std::string services;  // comma separated
  std::string mode;
  std::string failure_policy;
  uint32_t max_parallel = 0;
  bool execute = false;
  // The seed's --restart: stop then start each service in the defined order, which is what every
  // run does; accepted so the seed's command lines work (a dry run unless --execute).
  bool restart = false;
  // The caller's API_BASE for the global health check, and the file holding its token (else the
  // token comes from $PANEL_TOKEN); both only for this request.
  std::string api_base;
  std::string token_file;
  // --require-healthy / --no-require-healthy (unset: the config's defaults.require_healthy), --force.
  std::optional<bool> require_healthy;
  bool force = false;
  bool scheduled = false;  // a timer/CI run: notices go out with their lead time first
  bool json = false;           // --json, kept as an alias of -o json
  std::string output = "text";  // -o: text or json
  bool plain = false;           // --plain: one line per event even on a terminal
  bool Json() const { return json || output == "json"; }
};

void AddRunFlags(CLI::App* cmd, RunFlags* flags, bool with_execute);

// failoverctl runs (cli/runs.cc).
struct RunsFlags {
  std::string since;    // 7d, 12h, 30m, or a UTC date
  std::string service;
  std::string status;   // succeeded, failed, aborted, interrupted, refused, running
  uint32_t limit = 0;   // 0 = the coordinator's default (1000)
  std::string output = "text";
};
void AddRunsFlags(CLI::App* cmd, RunsFlags* flags);
int RunRuns(const GlobalOptions& g, const RunsFlags& f);
// failoverctl trends (cli/trends.cc); `last` 0 = the coordinator's default (20).
int RunTrends(const GlobalOptions& g, uint32_t last, const std::string& output);
// Reads the config file (if any) into the request. Returns false and prints the error otherwise.
bool BuildRunRequest(const RunFlags& flags, v1::RunRequest* req);
// A stub for the coordinator; nullptr after printing why, with *exit_code kExitUsage (bad options or
// certificate, or a TCP coordinator that does not complete a TLS handshake) or kExitFailed (nothing
// accepts connections on its unix socket).
std::unique_ptr<v1::Coordinator::Stub> Connect(const GlobalOptions& g, int* exit_code);
// Prints a gRPC error on stderr and maps it to an exit code (2 for bad input, else 1).
int ReportRpcError(const std::string& what, const grpc::Status& s, const GlobalOptions& g);
std::string Ms(int64_t us);
// Prints a message as JSON (proto field names) on stdout.
void PrintJson(const google::protobuf::Message& msg);

// Shows a run's event stream as it comes (cli/live_view.h decides the text): JSON lines on
// stdout, rows in place or plain lines on stderr; on a terminal a ticker redraws every 250 ms so
// the elapsed times move. For `run` and every other streaming subcommand.
class LivePrinter {
 public:
  LivePrinter(LiveStyle style, bool color);
  ~LivePrinter();
  void OnEvent(const v1::RunEvent& e);
  // The stream ended: stops the ticker (before anything else is written below the rows).
  void Finish();

 private:
  int64_t NowUs();  // the run's clock: the CLI's steady clock lined up on the first event's elapsed_us
  void Tick();

  LiveView view_;
  LiveStyle style_;
  std::mutex mu_;
  bool started_ = false;
  std::chrono::steady_clock::time_point origin_;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};
// The style for this process: -o json, --plain, and whether stdout and stderr are terminals (TERM).
LiveStyle LiveStyleFor(const RunFlags& f);

int RunPlan(const GlobalOptions& g, const RunFlags& f);
int RunRun(const GlobalOptions& g, const RunFlags& f);
// Follows a run's event stream as `failoverctl run` does (live progress on stderr, Ctrl-C asks to
// abort an executed run) and prints its outcome; returns the exit code (run.cc). Inject and chaos
// stream the same events.
int FollowRun(const GlobalOptions& g, const RunFlags& f, std::unique_ptr<v1::Coordinator::Stub> stub,
              std::unique_ptr<grpc::ClientReader<v1::RunEvent>> reader);
// failoverctl inject (cli/inject.cc) and chaos (cli/chaos.cc).
struct InjectFlags {
  RunFlags run;            // -c, --execute, --api-base, --token-file, -o
  std::string fail;        // UNIT@HOST
  std::string signal = "KILL";
  bool then_failover = false;
  uint32_t recover_deadline_ms = 0;
};
void AddInjectFlags(CLI::App* cmd, InjectFlags* flags);
int RunInject(const GlobalOptions& g, const InjectFlags& f);
struct ChaosFlags {
  RunFlags run;  // -c, --services, --execute, --api-base, --token-file, -o
  uint32_t rounds = 1;
  uint64_t seed = 0;
  uint32_t max_down = 1;
  std::string signal = "KILL";
  uint32_t recover_deadline_ms = 0;
  uint32_t pause_ms = 0;
};
void AddChaosFlags(CLI::App* cmd, ChaosFlags* flags);
int RunChaos(const GlobalOptions& g, const ChaosFlags& f);
int RunHealth(const GlobalOptions& g, const RunFlags& f);
// Asks the coordinator to stop `run_id` (empty: the only run in progress) at its next safe point.
int RunAbort(const GlobalOptions& g, const std::string& run_id, bool json);
// `format`: text, json, md, junit or html.
int RunReport(const GlobalOptions& g, const std::string& run_id, const std::string& format);
// failoverctl report [RUN] --publish NAME: 0 published, 1 not delivered (yet), 2 unknown destination.
int RunPublish(const GlobalOptions& g, const std::string& run_id, const std::string& destination,
               const std::string& format);

}  // namespace failover::cli
