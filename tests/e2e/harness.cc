#include "harness.h"

#include <algorithm>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "failover/v1/coordinator.pb.h"
#include "google/protobuf/util/json_util.h"

namespace failover::e2e {
namespace {

const char* kHosts[] = {"api", "cerebro", "panel"};

std::string Slurp(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int out_fd,
            int err_fd) {
  pid_t pid = fork();
  if (pid == 0) {
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

std::string StateDir() { return FO_STATE_DIR; }
std::string RepoDir() { return FO_REPO_DIR; }
std::string BinDir() { return FO_BIN_DIR; }
std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
std::string PanelToken() {
  std::string t = ReadFileOrEmpty(StateDir() + "/secrets/panel_token");
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  return t;
}

std::string RequestConfigText() {
  std::string text = ReadFileOrEmpty(StateDir() + "/sls.yaml");
  return text.substr(0, text.find("# --- coordinator-only"));
}

CmdResult RunCmd(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env, int timeout_s) {
  char out_tmpl[] = "/dev/shm/fo-e2e-out-XXXXXX";
  char err_tmpl[] = "/dev/shm/fo-e2e-err-XXXXXX";
  int out_fd = mkstemp(out_tmpl), err_fd = mkstemp(err_tmpl);
  unlink(out_tmpl);
  unlink(err_tmpl);
  pid_t pid = Spawn(argv, env, out_fd, err_fd);
  CmdResult r;
  r.rc = WaitChild(pid, timeout_s);
  lseek(out_fd, 0, SEEK_SET);
  lseek(err_fd, 0, SEEK_SET);
  r.out = Slurp(out_fd);
  r.err = Slurp(err_fd);
  close(out_fd);
  close(err_fd);
  return r;
}

int WaitChild(pid_t pid, int timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -2;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

CmdResult HostExec(const std::string& host, const std::vector<std::string>& argv) {
  std::vector<std::string> full = {"bash", RepoDir() + "/tests/testbed/testbed.sh", "exec", StateDir(), host};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunCmd(full, {}, 60);
}

std::string Prop(const std::string& host, const std::string& unit, const std::string& prop) {
  CmdResult r = HostExec(host, {"systemctl", "show", "-p", prop, "--value", unit});
  std::string v = r.out;
  while (!v.empty() && v.back() == '\n') v.pop_back();
  return v;
}

uint32_t MainPid(const std::string& host, const std::string& unit) {
  return static_cast<uint32_t>(std::stoul("0" + Prop(host, unit, "MainPID")));
}

std::string ActiveState(const std::string& host, const std::string& unit) { return Prop(host, unit, "ActiveState"); }

void SetControl(const std::string& host, const std::string& file, const std::string& content) {
  std::ofstream(StateDir() + "/control/" + host + "/" + file) << content;
}

void ClearControls() {
  for (const char* h : kHosts) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(StateDir() + "/control/" + h, ec))
      std::filesystem::remove(e.path(), ec);
  }
}

void ResetTestBed() {
  ClearControls();
  for (const char* h : kHosts) {
    // The agent first (a test may have killed or stopped it), then every SLS unit of the host.
    HostExec(h, {"systemctl", "kill", "-s", "SIGCONT", "failover-agent.service"});
    HostExec(h, {"systemctl", "reset-failed"});
    std::vector<std::string> units = {"failover-agent.service"};
    std::ifstream in(StateDir() + "/hosts/" + h + "/boot-units");
    for (std::string u; std::getline(in, u);)
      if (!u.empty() && u != "failover-agent.service") units.push_back(u);
    std::vector<std::string> cmd = {"systemctl", "start"};
    cmd.insert(cmd.end(), units.begin(), units.end());
    CmdResult r = HostExec(h, cmd);
    if (r.rc != 0) throw std::runtime_error("reset of host " + std::string(h) + " failed: " + r.err);
  }
  // Agents answer again (one may have been restarted).
  RunCmd({"bash", RepoDir() + "/tests/testbed/wait-agents.sh", StateDir(), "api:11", "cerebro:12", "panel:13"}, {}, 60);
}

void RestartAgentsAndResetTestBed() {
  for (const char* h : kHosts) HostExec(h, {"systemctl", "restart", "failover-agent.service"});
  ResetTestBed();
}

std::string ReportJsonOfRun(const std::string& json_lines) {
  std::istringstream in(json_lines);
  std::string json;
  for (std::string line; std::getline(in, line);) {
    v1::RunEvent e;
    if (!google::protobuf::util::JsonStringToMessage(line, &e).ok() || !e.has_report()) continue;
    google::protobuf::util::JsonPrintOptions o;
    o.add_whitespace = true;
    o.preserve_proto_field_names = true;
    json.clear();
    (void)google::protobuf::util::MessageToJsonString(e.report(), &json, o);
  }
  return json;
}

Coordinator::Coordinator(const std::string& name, const std::vector<std::string>& extra_args, bool keep_state,
                         bool wait_for_socket) {
  state_dir_ = StateDir() + "/coord-" + name;
  if (!keep_state) std::filesystem::remove_all(state_dir_);
  std::filesystem::remove(state_dir_ + "/coordinator.sock");
  std::filesystem::create_directories(state_dir_);
  socket_ = state_dir_ + "/coordinator.sock";
  std::vector<std::string> argv = {BinDir() + "/failover-coordinator", "--state-dir", state_dir_ + "/state",
                                   "--reports-dir", state_dir_ + "/reports"};
  // The test bed's sls.yaml unless the test brings its own --config.
  if (std::find(extra_args.begin(), extra_args.end(), "--config") == extra_args.end())
    argv.insert(argv.end(), {"--config", StateDir() + "/sls.yaml"});
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (wait_for_socket) {
    argv.push_back("--listen");
    argv.push_back("unix:" + socket_);
  }
  int log_fd = open((state_dir_ + "/coordinator.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  pid_ = Spawn(argv, {{"PANEL_TOKEN", PanelToken()}, {"API_BASE", "http://10.77.0.11:8080"}}, log_fd, log_fd);
  close(log_fd);
  if (!wait_for_socket) return;
  for (int i = 0; i < 500 && access(socket_.c_str(), F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (access(socket_.c_str(), F_OK) != 0) throw std::runtime_error("coordinator did not start; see " + state_dir_);
}

Coordinator::~Coordinator() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (WaitChild(pid_, 5) == -2) kill(pid_, SIGKILL);
  }
}

void Coordinator::Kill(int sig) {
  if (pid_ <= 0) return;
  kill(pid_, sig);
  if (sig == SIGKILL || sig == SIGTERM) {
    WaitChild(pid_, 10);
    pid_ = -1;
  }
}

CmdResult Coordinator::Ctl(const std::vector<std::string>& args, int timeout_s) const {
  std::vector<std::string> argv = {BinDir() + "/failoverctl", "--coordinator", "unix:" + socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCmd(argv, {}, timeout_s);
}

pid_t Coordinator::CtlAsync(const std::vector<std::string>& args, const std::string& out_file) const {
  std::vector<std::string> argv = {BinDir() + "/failoverctl", "--coordinator", "unix:" + socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  int fd = open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = Spawn(argv, {}, fd, fd);
  close(fd);
  return pid;
}

const std::vector<std::pair<std::string, std::string>> kSls = {
    {"api", "sls-api.service"},     {"api", "sls-bot.service"},     {"cerebro", "sls-cerebro.service"},
    {"cerebro", "sls-bot.service"}, {"panel", "sls-panel.service"}, {"panel", "sls-api.service"}};

bool AllActive() {
  for (const auto& [h, u] : kSls)
    if (ActiveState(h, u) != "active") return false;
  return true;
}

int64_t MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t).count();
}

int64_t WaitForMs(const std::function<bool()>& pred, int timeout_ms) {
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(timeout_ms)) {
    if (pred()) return MsSince(t0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

std::string ShortConfig(const std::string& name, const std::string& extra_defaults) {
  std::string text = RequestConfigText();
  auto swap = [&](const std::string& from, const std::string& to) { text.replace(text.find(from), from.size(), to); };
  swap("job_timeout_ms: 20000", "job_timeout_ms: 3000");
  swap("lease_ms: 60000", "lease_ms: 6000" + extra_defaults);
  swap("call_timeout_ms: 3000", "call_timeout_ms: 2000");
  const std::string path = StateDir() + "/" + name + ".yaml";
  std::ofstream(path) << text;
  return path;
}

}  // namespace failover::e2e
