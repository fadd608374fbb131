#include "agent/restic_snapshots.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {

struct ChildOutput {
  std::string out;
  std::string err;
  bool timed_out = false;
  bool out_over = false;
  int status = 0;
};

// Appends what `fd` has to `dst` up to `limit` (the rest is read and dropped); false at EOF.
bool Drain(int fd, std::string* dst, size_t limit, bool* over) {
  char buf[8192];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return false;
  const size_t room = dst->size() < limit ? limit - dst->size() : 0;
  dst->append(buf, std::min(room, static_cast<size_t>(n)));
  if (static_cast<size_t>(n) > room && over != nullptr) *over = true;
  return true;
}

// Reads both pipes until they close or the deadline passes (then kills the child's group).
void Collect(pid_t pid, int out_fd, int err_fd, uint32_t timeout_ms, ChildOutput* o) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      o->timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    pollfd p[2] = {{out_open ? out_fd : -1, POLLIN, 0}, {err_open ? err_fd : -1, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    if (out_open && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) out_open = Drain(out_fd, &o->out, kMaxResticStdout, &o->out_over);
    if (err_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) err_open = Drain(err_fd, &o->err, 64 * 1024, nullptr);
  }
  while (waitpid(pid, &o->status, 0) < 0 && errno == EINTR) {
  }
}

// restic's complaint, one line, bounded and redacted.
std::string Complaint(const std::string& err) {
  std::string s = absl::StrReplaceAll(std::string(absl::StripAsciiWhitespace(err)), {{"\n", "; "}});
  if (s.size() > kMaxResticStderr) s = s.substr(0, kMaxResticStderr) + "...";
  return Redact(s.empty() ? "no message" : s);
}

}  // namespace

std::vector<std::string> ResticSnapshotsArgv(const std::string& restic, const v1::ResticProbe& probe) {
  std::vector<std::string> argv = {restic, "snapshots", "--json", "--latest", "1", "--no-lock", "--no-cache"};
  if (!probe.host().empty()) argv.push_back("--host=" + probe.host());
  if (!probe.tag().empty()) argv.push_back("--tag=" + probe.tag());
  return argv;
}

absl::StatusOr<std::string> ResticSnapshots::LatestSnapshotsJson(const v1::ResticProbe& probe, uint32_t timeout_ms) {
  auto it = repositories_.find(probe.repository());
  if (it == repositories_.end())
    return absl::NotFoundError(absl::StrCat("not defined in this agent's config (restic_repositories)"));
  const std::vector<std::string> args = ResticSnapshotsArgv(restic_, probe);
  const std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=/nonexistent", "RESTIC_REPOSITORY=" + it->second.repository,
                                        "RESTIC_PASSWORD_FILE=" + it->second.password_file};
  std::vector<char*> argv, envp;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return absl::InternalError("cannot make a pipe for restic");
  if (pipe2(err, O_CLOEXEC) != 0) {
    close(out[0]), close(out[1]);
    return absl::InternalError("cannot make a pipe for restic");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout kills restic and anything it started
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, restic_.c_str(), &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(out[1]);
  close(err[1]);
  ChildOutput o;
  if (rc == 0) Collect(pid, out[0], err[0], timeout_ms, &o);
  close(out[0]);
  close(err[0]);
  if (rc != 0) return absl::UnavailableError(absl::StrCat("cannot run ", restic_, ": ", std::strerror(rc)));
  if (o.timed_out) return absl::DeadlineExceededError(absl::StrCat("restic did not answer within ", timeout_ms, " ms (killed)"));
  if (o.out_over) return absl::ResourceExhaustedError(absl::StrCat("restic's output is over ", kMaxResticStdout, " bytes"));
  if (!WIFEXITED(o.status) || WEXITSTATUS(o.status) != 0)
    return absl::FailedPreconditionError(absl::StrCat(
        "restic failed (", WIFEXITED(o.status) ? absl::StrCat("exit status ", WEXITSTATUS(o.status)) : "killed by a signal",
        "): ", Complaint(o.err)));
  return o.out;
}

}  // namespace failover::agent
