// End-to-end harness: the test bed brought up by the ctest fixture (testbed-up.sh), a real
// coordinator process per test, failoverctl as a subprocess, and systemctl inside the hosts as
// the independent witness of what happened.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace failover::e2e {

struct CmdResult {
  int rc = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv (no shell) with extra environment; waits up to timeout_s.
CmdResult RunCmd(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
              int timeout_s = 300);
// Runs a command inside a test host.
CmdResult HostExec(const std::string& host, const std::vector<std::string>& argv);
std::string Prop(const std::string& host, const std::string& unit, const std::string& prop);
uint32_t MainPid(const std::string& host, const std::string& unit);
std::string ActiveState(const std::string& host, const std::string& unit);

std::string StateDir();
std::string RepoDir();
std::string BinDir();
std::string PanelToken();
// sls.yaml without its coordinator-only tail: what an operator may send with failoverctl -c.
std::string RequestConfigText();

// Puts every SLS unit back to running with no fault switches set (between tests).
void ResetTestBed();
// A test's TearDown after runs that may leave a host held by their run until the lease ends:
// fresh agents on every host (nothing held), then ResetTestBed().
void RestartAgentsAndResetTestBed();
// The report of `failoverctl run -o json` (JSON lines, the last one carries it), printed as
// `failoverctl report -o json` prints it; "" when no line has a report.
std::string ReportJsonOfRun(const std::string& json_lines);
// Writes / removes a fake-service control file (e.g. "sls-api.fail-start") on a host.
void SetControl(const std::string& host, const std::string& file, const std::string& content = "1");
void ClearControls();

// A coordinator process listening on a private unix socket, killed (by its PID) on destruction.
class Coordinator {
 public:
  // keep_state: reuse the journal of an earlier coordinator of the same name (restart after a crash).
  // wait_for_socket: wait for the default unix socket (false when --listen points elsewhere).
  explicit Coordinator(const std::string& name, const std::vector<std::string>& extra_args = {},
                       bool keep_state = false, bool wait_for_socket = true);
  ~Coordinator();
  void Kill(int sig);
  pid_t pid() const { return pid_; }
  const std::string& socket() const { return socket_; }
  const std::string& state_dir() const { return state_dir_; }
  // failoverctl against this coordinator.
  CmdResult Ctl(const std::vector<std::string>& args, int timeout_s = 300) const;
  // Same, started in the background; returns its pid (stdout/stderr go to files under state_dir).
  pid_t CtlAsync(const std::vector<std::string>& args, const std::string& out_file) const;

 private:
  pid_t pid_ = -1;
  std::string socket_;
  std::string state_dir_;
};

// The SLS units of the test bed, (host, unit).
extern const std::vector<std::pair<std::string, std::string>> kSls;
// True when every SLS unit of the test bed is active.
bool AllActive();
int64_t MsSince(std::chrono::steady_clock::time_point t);
// Polls `pred` every 20 ms; returns the time it took in ms, or -1 after `timeout_ms`.
int64_t WaitForMs(const std::function<bool()>& pred, int timeout_ms);
// sls.yaml with short timeouts (jobs 3 s, lease 6 s, calls 2 s) so faults and stops resolve in
// seconds, written to StateDir()/<name>.yaml for failoverctl -c; `extra_defaults` goes after lease_ms.
std::string ShortConfig(const std::string& name, const std::string& extra_defaults = "");

// Waits for a background child; returns its exit code.
int WaitChild(pid_t pid, int timeout_s = 300);
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace failover::e2e
