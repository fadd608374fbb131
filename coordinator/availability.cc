#include "coordinator/availability.h"

#include <algorithm>
#include <chrono>
#include <utility>

namespace failover::coordinator {

AvailabilityTracker::AvailabilityTracker(std::string url, uint32_t interval_ms, uint32_t max_windows)
    : max_windows_(max_windows) {
  acc_.set_url(std::move(url));
  acc_.set_interval_ms(interval_ms);
}

void AvailabilityTracker::Close(v1::AvailabilityWindow w, v1::Availability* out) const {
  w.set_duration_us(std::max<int64_t>(0, w.end_unix_us() - w.start_unix_us()));
  out->set_unavailable_us(out->unavailable_us() + w.duration_us());
  if (!out->has_longest() || w.duration_us() > out->longest().duration_us()) *out->mutable_longest() = w;
  if (static_cast<uint32_t>(out->windows_size()) < max_windows_) *out->add_windows() = std::move(w);
  else out->set_windows_dropped(out->windows_dropped() + 1);
}

void AvailabilityTracker::Add(const AvailabilitySample& s) {
  if (acc_.requests() == 0) first_start_ = s.start_unix_us;
  last_end_ = std::max(last_end_, s.end_unix_us);
  acc_.set_requests(acc_.requests() + 1);
  if (s.healthy) {
    if (open_) {
      open_->set_end_unix_us(s.start_unix_us);  // it answered again by this request at the latest
      Close(std::move(*open_), &acc_);
      open_.reset();
    }
    return;
  }
  acc_.set_failures(acc_.failures() + 1);
  if (!open_) {
    open_.emplace();
    open_->set_start_unix_us(s.start_unix_us);
    open_->set_detail(s.detail);
  }
  open_->set_failures(open_->failures() + 1);
}

v1::Availability AvailabilityTracker::Result() const {
  v1::Availability out = acc_;
  out.set_observed_us(acc_.requests() == 0 ? 0 : last_end_ - first_start_);
  if (open_) {
    v1::AvailabilityWindow w = *open_;
    w.set_end_unix_us(last_end_);
    w.set_open_ended(true);
    Close(std::move(w), &out);
  }
  return out;
}

v1::ProbeSpec SingleAttempt(v1::ProbeSpec spec) {
  spec.set_deadline_ms(0);
  spec.set_interval_ms(spec.timeout_ms() + 1);  // the next attempt would start after the deadline
  return spec;
}

AvailabilityPoller::AvailabilityPoller(ProbeRunner* runner, v1::ProbeSpec spec, uint32_t interval_ms, Clock* clock)
    : runner_(runner),
      spec_(SingleAttempt(std::move(spec))),
      interval_ms_(interval_ms),
      clock_(clock),
      tracker_(spec_.http().url(), interval_ms) {}

AvailabilityPoller::~AvailabilityPoller() { Stop(); }

void AvailabilityPoller::Start() { thread_ = std::thread([this] { Loop(); }); }

void AvailabilityPoller::Loop() {
  auto next = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    AvailabilitySample s;
    s.start_unix_us = clock_->NowUnixUs();
    v1::ProbeResult r = runner_->Run(spec_);
    s.end_unix_us = clock_->NowUnixUs();
    s.healthy = r.healthy();
    s.detail = r.detail();
    lock.lock();
    tracker_.Add(s);
    next += std::chrono::milliseconds(interval_ms_);
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // a slow request: no burst to catch up
    cv_.wait_until(lock, next, [this] { return stop_; });
  }
}

v1::Availability AvailabilityPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  return tracker_.Result();
}

}  // namespace failover::coordinator
