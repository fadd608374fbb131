#include "bench/simulated_systemd.h"

#include "absl/strings/str_cat.h"

namespace failover::bench {

SimulatedSystemd::SimulatedSystemd(const std::vector<std::string>& units, SimulatedJobTimes times, Clock* clock)
    : times_(times), clock_(clock) {
  for (const auto& name : units) {
    v1::UnitState st;
    st.set_unit(name);
    st.set_load_state("loaded");
    st.set_active_state("active");
    st.set_sub_state("running");
    st.set_main_pid(next_pid_++);
    st.set_result("success");
    st.set_timeout_start_us(90'000'000);
    st.set_timeout_stop_us(90'000'000);
    st.set_since_unix_us(clock_->NowUnixUs());
    units_[name] = st;
  }
}

absl::StatusOr<v1::UnitState> SimulatedSystemd::GetUnitState(const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = units_.find(unit);
  if (it == units_.end()) {
    v1::UnitState st;
    st.set_unit(unit);
    st.set_load_state("not-found");
    st.set_active_state("inactive");
    st.set_sub_state("dead");
    return st;
  }
  v1::UnitState st = it->second;
  st.set_read_at_unix_us(clock_->NowUnixUs());
  return st;
}

absl::StatusOr<JobOutcome> SimulatedSystemd::RunJob(JobKind kind, const std::string& unit,
                                                    std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!units_.count(unit)) return absl::NotFoundError(absl::StrCat("unit ", unit, " not loaded (simulated)"));
  }
  const std::chrono::milliseconds takes = kind == JobKind::kStart ? times_.start : times_.stop;
  const auto t0 = clock_->Now();
  if (takes > timeout) {
    clock_->SleepFor(timeout);
    return absl::DeadlineExceededError(absl::StrCat("no JobRemoved for ", unit, " within ", timeout.count(), " ms"));
  }
  clock_->SleepFor(takes);
  std::lock_guard<std::mutex> lock(mu_);
  v1::UnitState& st = units_[unit];
  const bool start = kind == JobKind::kStart;
  st.set_active_state(start ? "active" : "inactive");
  st.set_sub_state(start ? "running" : "dead");
  st.set_main_pid(start ? next_pid_++ : 0);
  st.set_since_unix_us(clock_->NowUnixUs());
  ++jobs_;
  JobOutcome out;
  out.result = "done";
  out.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_->Now() - t0);
  return out;
}

absl::Status SimulatedSystemd::ResetFailed(const std::string& unit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!units_.count(unit)) return absl::NotFoundError(absl::StrCat("unit ", unit, " not loaded (simulated)"));
  units_[unit].set_result("success");
  return absl::OkStatus();
}

int SimulatedSystemd::jobs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_;
}

}  // namespace failover::bench
