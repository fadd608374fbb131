#include "host_lease.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::agent {

constexpr size_t kMaxAutonomousKept = 256;

absl::Status HostLease::Acquire(const std::string& run_id, std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  if (!holder_.empty() && holder_ != run_id) {
    if (now < expires_ || steps_in_flight_ > 0 || !held_.empty())
      return absl::FailedPreconditionError(
          absl::StrCat("host is held by run ", holder_, " (lease ends in ",
                       std::chrono::duration_cast<std::chrono::milliseconds>(expires_ - now).count(),
                       " ms); refusing run ", run_id));
    holder_.clear();  // expired and nothing left to restore
  }
  if (holder_ == run_id && ExpiredLocked(now) && !held_.empty())
    return ExpiredError(run_id, now);
  if (holder_ != run_id) {
    holder_ = run_id;
    (void)PersistLocked();  // logged; a stop still needs a persisted Hold
  }
  expires_ = now + lease;
  NotifyLocked();
  return absl::OkStatus();
}

bool HostLease::ExpiredLocked(std::chrono::steady_clock::time_point now) const {
  return !holder_.empty() && steps_in_flight_ == 0 && now >= expires_;
}

absl::Status HostLease::ExpiredError(const std::string& run_id, std::chrono::steady_clock::time_point now) const {
  // A late renewal (e.g. queued while the agent was frozen) must not revive a lease that ran out:
  // the agent is restoring what the run held.
  return absl::FailedPreconditionError(absl::StrCat(
      "the lease of run ", run_id, " expired ",
      std::chrono::duration_cast<std::chrono::milliseconds>(now - expires_).count(),
      " ms ago; the agent restores the units it held"));
}

absl::Status HostLease::Renew(const std::string& run_id, std::chrono::milliseconds lease) {
  std::lock_guard<std::mutex> lock(mu_);
  if (holder_ != run_id)
    return absl::FailedPreconditionError(
        holder_.empty() ? absl::StrCat("run ", run_id, " holds no lease on this host (it expired or was released)")
                        : absl::StrCat("host is held by run ", holder_, ", not ", run_id));
  const auto now = clock_->Now();
  if (ExpiredLocked(now)) return ExpiredError(run_id, now);
  expires_ = now + lease;
  NotifyLocked();
  return absl::OkStatus();
}

std::vector<std::string> HostLease::Release(const std::string& run_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (holder_ != run_id) return {};
  std::vector<std::string> units(held_.begin(), held_.end());
  held_.clear();
  holder_.clear();
  (void)PersistLocked();  // logged
  return units;
}

void HostLease::BeginStep() {
  std::lock_guard<std::mutex> lock(mu_);
  ++steps_in_flight_;
}

void HostLease::EndStep() {
  std::lock_guard<std::mutex> lock(mu_);
  --steps_in_flight_;
  NotifyLocked();
}

void HostLease::WaitForPossibleExpiry(std::chrono::milliseconds max_wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_waiting_) return;
  const uint64_t seen = generation_;
  std::chrono::steady_clock::duration wait = max_wait;
  if (!holder_.empty() && steps_in_flight_ == 0) wait = std::min(wait, expires_ - clock_->Now());
  if (wait <= std::chrono::steady_clock::duration::zero()) return;
  changed_.wait_for(lock, wait, [&] { return generation_ != seen; });
}

void HostLease::StopWaiting() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_waiting_ = true;
  NotifyLocked();
}

absl::Status HostLease::Hold(const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  const bool added = held_.insert(unit).second;
  absl::Status s = PersistLocked();
  if (!s.ok() && added) held_.erase(unit);
  return s;
}

void HostLease::Unhold(const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (held_.erase(unit) > 0) (void)PersistLocked();  // logged
}

std::pair<std::string, std::vector<std::string>> HostLease::TakeExpired() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!ExpiredLocked(clock_->Now())) return {};
  std::pair<std::string, std::vector<std::string>> out{holder_, {held_.begin(), held_.end()}};
  held_.clear();
  holder_.clear();
  (void)PersistLocked();  // logged
  return out;
}

std::pair<std::string, std::vector<std::string>> HostLease::TakePersisted() {
  std::lock_guard<std::mutex> lock(mu_);
  std::pair<std::string, std::vector<std::string>> out;
  if (state_file_.empty()) return out;
  LoadAutonomousLocked();
  std::ifstream in(state_file_);
  std::string kind, value;
  while (in >> kind >> value) {
    if (kind == "run") out.first = value;
    if (kind == "unit") out.second.push_back(value);
  }
  (void)PersistLocked();  // the in-memory table is empty: so is the file now
  return out;
}

int HostLease::steps_in_flight() {
  std::lock_guard<std::mutex> lock(mu_);
  return steps_in_flight_;
}

std::string HostLease::holder() {
  std::lock_guard<std::mutex> lock(mu_);
  return holder_;
}

std::vector<std::string> HostLease::held_units() {
  std::lock_guard<std::mutex> lock(mu_);
  return {held_.begin(), held_.end()};
}

void HostLease::RecordAutonomous(const v1::OperationRecord& op) {
  std::lock_guard<std::mutex> lock(mu_);
  autonomous_.push_back(op);
  if (autonomous_.size() > kMaxAutonomousKept) autonomous_.pop_front();
  PersistAutonomousLocked();
}

std::string HostLease::AutonomousFile() const { return state_file_.empty() ? "" : state_file_ + ".autonomous"; }

void HostLease::PersistAutonomousLocked() {
  // The record must outlive this process: an agent restarted mid-run restores what it held,
  // and the run's report reads that from the next agent process.
  const std::string file = AutonomousFile();
  if (file.empty()) return;
  const std::string tmp = file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& op : autonomous_) out << absl::Base64Escape(op.SerializeAsString()) << "\n";
    out.flush();
    if (!out) {
      GetLogger("agent")->error("cannot write {}: the agent's own operations would not survive a restart", tmp);
      return;
    }
  }
  if (std::rename(tmp.c_str(), file.c_str()) != 0)
    GetLogger("agent")->error("cannot replace {}: {}", file, std::strerror(errno));
}

void HostLease::LoadAutonomousLocked() {
  const std::string file = AutonomousFile();
  if (file.empty()) return;
  std::ifstream in(file);
  std::string line, bytes;
  while (std::getline(in, line)) {
    v1::OperationRecord op;
    if (!absl::Base64Unescape(line, &bytes) || !op.ParseFromString(bytes)) continue;
    autonomous_.push_back(std::move(op));
    if (autonomous_.size() > kMaxAutonomousKept) autonomous_.pop_front();
  }
}

std::vector<v1::OperationRecord> HostLease::autonomous() {
  std::lock_guard<std::mutex> lock(mu_);
  return {autonomous_.begin(), autonomous_.end()};
}

absl::Status HostLease::PersistLocked() {
  if (state_file_.empty()) return absl::OkStatus();
  // Write-then-rename: a crash leaves either the old or the new table, never half of one.
  const std::string tmp = state_file_ + ".tmp";
  {
    errno = 0;
    std::ofstream out(tmp, std::ios::trunc);
    if (!holder_.empty()) out << "run " << holder_ << "\n";
    for (const auto& u : held_) out << "unit " << u << "\n";
    out.flush();
    if (!out) {
      const std::string err = errno != 0 ? std::strerror(errno) : "write failed";
      GetLogger("agent")->error("cannot write lease state {}: {}: held units would not survive an agent restart",
                                tmp, err);
      return absl::UnavailableError(absl::StrCat("cannot write lease state file ", tmp, ": ", err));
    }
  }
  if (std::rename(tmp.c_str(), state_file_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    GetLogger("agent")->error("cannot replace lease state {}: {}", state_file_, err);
    return absl::UnavailableError(absl::StrCat("cannot replace lease state file ", state_file_, ": ", err));
  }
  return absl::OkStatus();
}

}  // namespace failover::agent
