// Fakes for unit tests of pure logic. Never the proof that a feature works: e2e tests do that.
#pragma once

#include <functional>

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "failover/agent_client.h"
#include "failover/clock.h"
#include "failover/probe.h"
#include "failover/systemd_manager.h"

namespace failover::testing {

// A clock that only moves when told (or when something sleeps on it).
class FakeClock : public Clock {
 public:
  int64_t NowUnixUs() override { return 1'800'000'000'000'000 + now_us_; }
  std::chrono::steady_clock::time_point Now() override {
    return std::chrono::steady_clock::time_point(std::chrono::microseconds(now_us_));
  }
  void SleepFor(std::chrono::microseconds d) override { now_us_ += d.count(); }
  void Advance(std::chrono::microseconds d) { now_us_ += d.count(); }

 private:
  std::atomic<int64_t> now_us_{1000};
};

// systemd in memory: units with states; jobs flip them; scripted failures.
class FakeSystemd : public SystemdManager {
 public:
  void AddUnit(const std::string& unit, const std::string& active = "active", uint32_t pid = 100) {
    std::lock_guard<std::mutex> lock(mu_);
    v1::UnitState s;
    s.set_unit(unit);
    s.set_load_state("loaded");
    s.set_active_state(active);
    s.set_sub_state(active == "active" ? "running" : "dead");
    s.set_main_pid(active == "active" ? pid : 0);
    s.set_result("success");
    units_[unit] = s;
  }
  // The next start of `unit` ends with `result` (e.g. "failed", "start-limit-hit").
  void FailNextStart(const std::string& unit, const std::string& result) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_start_[unit] = result;
  }
  // After its next successful start, `unit` reads active once, then crash-loops: every later
  // read finds systemd restarting it (activating/auto-restart, NRestarts and MainPID moved).
  void CrashLoopAfterNextStart(const std::string& unit) {
    std::lock_guard<std::mutex> lock(mu_);
    crash_after_start_[unit] = -1;
  }
  void SetTimeouts(const std::string& unit, uint64_t start_us, uint64_t stop_us) {
    std::lock_guard<std::mutex> lock(mu_);
    units_[unit].set_timeout_start_us(start_us);
    units_[unit].set_timeout_stop_us(stop_us);
  }
  // Reads are stamped (read_at_unix_us) with this clock's time when set.
  void set_clock(Clock* clock) { clock_ = clock; }
  // Restart= of a killed unit: systemd brings it back after this many state reads (-1: never,
  // as Restart=no: it stays failed until a start job).
  void SetRestartAfterReads(const std::string& unit, int reads) {
    std::lock_guard<std::mutex> lock(mu_);
    restart_after_[unit] = reads;
  }
  // KillUnit simulates a crash: the unit reads activating/auto-restart (failed with Restart=no),
  // then, after the reads set above (default 2), active again with a new PID and NRestarts + 1.
  absl::Status KillUnit(const std::string& unit, const std::string& who, KillSignal signal) override {
    std::lock_guard<std::mutex> lock(mu_);
    journal_.push_back("kill " + who + " SIG" + KillSignalName(signal) + " " + unit);
    auto& s = units_[unit];
    const auto r = restart_after_.find(unit);
    const int reads = r == restart_after_.end() ? 2 : r->second;
    s.set_active_state(reads < 0 ? "failed" : "activating");
    s.set_sub_state(reads < 0 ? "failed" : "auto-restart");
    s.set_result("signal");
    s.set_main_pid(0);
    if (reads >= 0) killed_[unit] = reads;
    return absl::OkStatus();
  }
  absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++reads_;
    auto killed = killed_.find(unit);
    if (killed != killed_.end() && killed->second-- <= 0) {
      auto& s = units_[unit];
      s.set_active_state("active");
      s.set_sub_state("running");
      s.set_n_restarts(s.n_restarts() + 1);
      s.set_main_pid(++next_pid_);
      killed_.erase(killed);
    }
    if (clock_ != nullptr && units_.count(unit) != 0) units_[unit].set_read_at_unix_us(clock_->NowUnixUs());
    auto crash = crash_after_start_.find(unit);
    if (crash != crash_after_start_.end() && crash->second >= 0 && crash->second++ >= 1) {
      auto& s = units_[unit];
      s.set_active_state("activating");
      s.set_sub_state("auto-restart");
      s.set_result("exit-code");
      s.set_n_restarts(s.n_restarts() + 1);
      s.set_main_pid(++next_pid_);
    }
    auto it = units_.find(unit);
    if (it == units_.end()) {
      v1::UnitState s;
      s.set_unit(unit);
      s.set_load_state("not-found");
      s.set_active_state("inactive");
      return s;
    }
    return it->second;
  }
  absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit, std::chrono::milliseconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    journal_.push_back((kind == JobKind::kStart ? "start " : "stop ") + unit);
    auto& s = units_[unit];
    JobOutcome o;
    o.duration = std::chrono::microseconds(5000);
    if (kind == JobKind::kStop) {
      s.set_active_state("inactive");
      s.set_sub_state("dead");
      s.set_main_pid(0);
      o.result = "done";
      return o;
    }
    auto f = fail_start_.find(unit);
    if (f != fail_start_.end()) {
      o.result = f->second;
      s.set_active_state("failed");
      s.set_sub_state("failed");
      s.set_result(f->second == "start-limit-hit" ? "start-limit-hit" : "exit-code");
      s.set_exec_main_status(3);
      fail_start_.erase(f);
      return o;
    }
    s.set_active_state("active");
    s.set_sub_state("running");
    s.set_main_pid(++next_pid_);
    auto crash = crash_after_start_.find(unit);
    if (crash != crash_after_start_.end() && crash->second < 0) crash->second = 0;
    o.result = "done";
    return o;
  }
  absl::Status ResetFailed(const std::string& unit) override {
    std::lock_guard<std::mutex> lock(mu_);
    journal_.push_back("reset-failed " + unit);
    return absl::OkStatus();
  }
  // How many unit states were read (each unit of a GetUnitStates counts once).
  int reads() {
    std::lock_guard<std::mutex> lock(mu_);
    return reads_;
  }
  std::vector<std::string> journal() {
    std::lock_guard<std::mutex> lock(mu_);
    return journal_;
  }

 private:
  std::mutex mu_;
  std::map<std::string, v1::UnitState> units_;
  std::map<std::string, std::string> fail_start_;
  std::map<std::string, int> crash_after_start_;  // unit -> reads since the start (-1: not started yet)
  std::map<std::string, int> restart_after_;      // unit -> reads before Restart= brings it back
  std::map<std::string, int> killed_;             // unit -> reads left until it is back
  Clock* clock_ = nullptr;
  std::vector<std::string> journal_;
  int reads_ = 0;
  uint32_t next_pid_ = 1000;
};

// Probes answer from a table: name -> healthy.
class FakeProbes : public ProbeRunner {
 public:
  void Set(const std::string& name, bool healthy) {
    std::lock_guard<std::mutex> lock(mu_);
    healthy_[name] = healthy;
  }
  // Called (unlocked) before a probe answers; false makes the probe unhealthy.
  std::function<bool(const v1::ProbeSpec&)> before_answer;
  v1::ProbeResult Run(const v1::ProbeSpec& spec) override {
    const bool allowed = !before_answer || before_answer(spec);
    std::lock_guard<std::mutex> lock(mu_);
    v1::ProbeResult r;
    r.set_name(spec.name());
    auto it = healthy_.find(spec.name());
    r.set_healthy(allowed && (it == healthy_.end() ? true : it->second));
    r.set_detail(r.healthy() ? "HTTP 200" : "HTTP 503 (expected 200)");
    r.set_attempts(1);
    return r;
  }

 private:
  std::mutex mu_;
  std::map<std::string, bool> healthy_;
};

}  // namespace failover::testing
