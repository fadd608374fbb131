#include "dbus_systemd_manager.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "failover/clock.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {

constexpr char kService[] = "org.freedesktop.systemd1";
constexpr char kManagerPath[] = "/org/freedesktop/systemd1";
constexpr char kManagerIface[] = "org.freedesktop.systemd1.Manager";
constexpr char kPropsIface[] = "org.freedesktop.DBus.Properties";
constexpr char kUnitIface[] = "org.freedesktop.systemd1.Unit";
constexpr char kServiceIface[] = "org.freedesktop.systemd1.Service";
constexpr size_t kMaxRememberedJobs = 4096;
constexpr auto kCallTimeout = std::chrono::seconds(10);
constexpr int kMaxReconnectAttempts = 20;
// How long a read outside a job (GetState, probes) may wait for dbus to come back.
constexpr auto kReadBudget = std::chrono::seconds(12);

bool IsBusBroken(const sdbus::Error& e) {
  const std::string& n = e.getName();
  return absl::StrContains(n, "Disconnected") || absl::StrContains(n, "NoReply") ||
         absl::StrContains(n, "ServiceUnknown") || absl::StrContains(n, "NameHasNoOwner") ||
         absl::StrContains(n, "System.Error.ENOTCONN") || absl::StrContains(n, "System.Error.ECONNRESET") ||
         absl::StrContains(n, "System.Error.EPIPE") || absl::StrContains(n, "System.Error.ETIMEDOUT");
}

absl::Status FromDbusError(const std::string& what, const sdbus::Error& e) {
  const std::string msg = absl::StrCat(what, ": ", e.getName(), ": ", e.getMessage());
  if (e.getName() == "org.freedesktop.systemd1.NoSuchUnit") return absl::NotFoundError(msg);
  if (absl::StrContains(e.getName(), "AccessDenied")) return absl::PermissionDeniedError(msg);
  if (absl::StrContains(e.getName(), "InvalidArgs")) return absl::InvalidArgumentError(msg);
  if (IsBusBroken(e)) return absl::UnavailableError(msg);
  return absl::FailedPreconditionError(msg);
}

template <typename T>
T VariantOr(const std::map<std::string, sdbus::Variant>& props, const std::string& key, T fallback) {
  auto it = props.find(key);
  if (it == props.end()) return fallback;
  try {
    return it->second.get<T>();
  } catch (const sdbus::Error&) {
    return fallback;
  }
}

// systemd's object path of a unit: every byte outside [A-Za-z0-9] (and a leading digit) as _xx.
std::string UnitObjectPath(const std::string& unit) {
  static const char kHex[] = "0123456789abcdef";
  std::string path = "/org/freedesktop/systemd1/unit/";
  for (size_t i = 0; i < unit.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(unit[i]);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum && !(i == 0 && c >= '0' && c <= '9')) {
      path += static_cast<char>(c);
    } else {
      path += '_';
      path += kHex[c >> 4];
      path += kHex[c & 15];
    }
  }
  return path;
}

}  // namespace

std::optional<std::chrono::milliseconds> ReconnectBackoff(int attempt, SteadyTime now, SteadyTime deadline) {
  const auto backoff = std::chrono::milliseconds(100 + 50 * attempt);
  if (attempt >= kMaxReconnectAttempts || now + backoff >= deadline) return std::nullopt;
  return backoff;
}

std::chrono::microseconds CallTimeoutUntil(SteadyTime now, SteadyTime deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
  return std::clamp<std::chrono::microseconds>(left, std::chrono::milliseconds(1), kCallTimeout);
}

sdbus::IProxy& DbusSystemdManager::UnitProxyLocked(const std::string& unit) {
  auto& proxy = unit_proxies_[unit];
  if (!proxy) proxy = sdbus::createProxy(*conn_, kService, UnitObjectPath(unit));
  return *proxy;
}

absl::StatusOr<std::unique_ptr<DbusSystemdManager>> DbusSystemdManager::Create() {
  std::unique_ptr<DbusSystemdManager> m(new DbusSystemdManager());
  std::lock_guard<std::mutex> lock(m->conn_mu_);
  absl::Status s = m->ConnectLocked();
  if (!s.ok()) return s;
  return m;
}

DbusSystemdManager::~DbusSystemdManager() {
  std::lock_guard<std::mutex> lock(conn_mu_);
  StopLoopLocked();
  manager_.reset();
  conn_.reset();
}

void DbusSystemdManager::StopLoopLocked() {
  if (conn_) {
    try {
      conn_->leaveEventLoop();
    } catch (const sdbus::Error&) {
      // The loop already ended with the connection.
    }
  }
  if (loop_.joinable()) loop_.join();
}

absl::Status DbusSystemdManager::ConnectLocked() {
  try {
    StopLoopLocked();
    unit_proxies_.clear();
    manager_.reset();
    conn_ = sdbus::createSystemBusConnection();
    manager_ = sdbus::createProxy(*conn_, kService, kManagerPath);
    // Register the handler before any job is issued, and finish registration or no signal arrives.
    manager_->uponSignal("JobRemoved").onInterface(kManagerIface).call(
        [this](uint32_t id, const sdbus::ObjectPath& job, const std::string& unit, const std::string& result) {
          OnJobRemoved(id, job, unit, result);
        });
    manager_->finishRegistration();
    disconnected_ = false;
    loop_ = std::thread([this, conn = conn_.get()] {
      try {
        conn->enterEventLoop();
      } catch (const sdbus::Error& e) {
        // dbus restarted or went away: say so, so waiters reconnect instead of hanging.
        GetLogger("agent")->warn("D-Bus event loop ended: {}: {}", e.getName(), e.getMessage());
        disconnected_ = true;
        jobs_cv_.notify_all();
      }
    });
    manager_->callMethod("Subscribe").onInterface(kManagerIface).withTimeout(kCallTimeout);
    ++generation_;
    if (generation_ > 1) metrics_->DbusReconnected();
    return absl::OkStatus();
  } catch (const sdbus::Error& e) {
    manager_.reset();
    conn_.reset();
    return absl::UnavailableError(absl::StrCat("cannot connect to systemd over the system D-Bus: ",
                                               e.getName(), ": ", e.getMessage()));
  }
}

template <typename F>
auto DbusSystemdManager::WithReconnect(const std::string& what, SteadyTime deadline, F call)
    -> absl::StatusOr<decltype(call())> {
  for (int attempt = 0;; ++attempt) {
    absl::Status failed;
    {
      std::lock_guard<std::mutex> lock(conn_mu_);
      if (!manager_ || disconnected_) failed = ConnectLocked();
    }
    if (failed.ok()) {
      try {
        return call();
      } catch (const sdbus::Error& e) {
        failed = FromDbusError(what, e);
        if (!IsBusBroken(e)) return failed;
        GetLogger("agent")->warn("D-Bus connection lost during {} ({}); reconnecting", what, e.getName());
        std::lock_guard<std::mutex> lock(conn_mu_);
        disconnected_ = true;
      }
    }
    const auto backoff = ReconnectBackoff(attempt, std::chrono::steady_clock::now(), deadline);
    if (!backoff) {
      if (attempt >= kMaxReconnectAttempts) return failed;
      return absl::DeadlineExceededError(absl::StrCat(what, ": D-Bus still unavailable at the deadline after ",
                                                      attempt + 1, " attempt(s): ", failed.message()));
    }
    std::this_thread::sleep_for(*backoff);
  }
}

void DbusSystemdManager::OnJobRemoved(uint32_t, const sdbus::ObjectPath& job, const std::string&,
                                      const std::string& result) {
  std::lock_guard<std::mutex> lock(jobs_mu_);
  finished_jobs_[job] = result;
  finished_order_.push_back(job);
  while (finished_order_.size() > kMaxRememberedJobs) {
    finished_jobs_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
  jobs_cv_.notify_all();
}

struct DbusProp {
  const char* iface;
  const char* name;
};

namespace {

using Prop = DbusProp;
// What a UnitState holds: every unit's, and a loaded service's.
constexpr Prop kUnitProps[] = {
    {kUnitIface, "LoadState"}, {kUnitIface, "ActiveState"}, {kUnitIface, "SubState"},
    {kUnitIface, "StateChangeTimestamp"}};
constexpr Prop kServiceProps[] = {
    {kServiceIface, "MainPID"},   {kServiceIface, "ExecMainStatus"},   {kServiceIface, "Result"},
    {kServiceIface, "NRestarts"}, {kServiceIface, "TimeoutStartUSec"}, {kServiceIface, "TimeoutStopUSec"}};

// Answers to Gets sent at once, filled in by the connection's event-loop thread; shared with the
// reply handlers, which may outlive a waiter that gave up.
struct PendingGets {
  std::mutex mu;
  std::condition_variable cv;
  size_t left = 0;
  std::vector<DbusPrivateReader::Answer> answers;
};

// Gets awaiting their replies at once (the system bus allows 128 per connection).
constexpr size_t kMaxGetsInFlight = 64;

// Waits until every Get sent has its reply. sd-bus answers a call that timed out itself (an
// error reply); the wait's own bound (timeout + 0.5 s) is only for a loop that stopped. Throws
// Disconnected when `lost()` says the connection went away meanwhile (WithReconnect's cue).
void AwaitGets(PendingGets* pending, std::chrono::microseconds timeout, const std::function<bool()>& lost) {
  const auto give_up = std::chrono::steady_clock::now() + timeout + std::chrono::milliseconds(500);
  std::unique_lock<std::mutex> lock(pending->mu);
  while (pending->left > 0) {
    if (lost()) throw sdbus::Error("org.freedesktop.DBus.Error.Disconnected", "the D-Bus connection was lost during the read");
    if (std::chrono::steady_clock::now() >= give_up)
      throw sdbus::Error("org.freedesktop.DBus.Error.NoReply", "systemd did not answer the property reads");
    pending->cv.wait_for(lock, std::chrono::milliseconds(100));
  }
}

v1::UnitState UnitStateFrom(const std::string& unit, const std::map<std::string, sdbus::Variant>& props) {
  v1::UnitState st;
  st.set_unit(unit);
  st.set_load_state(VariantOr<std::string>(props, "LoadState", ""));
  st.set_active_state(VariantOr<std::string>(props, "ActiveState", ""));
  st.set_sub_state(VariantOr<std::string>(props, "SubState", ""));
  st.set_since_unix_us(static_cast<int64_t>(VariantOr<uint64_t>(props, "StateChangeTimestamp", 0)));
  if (absl::EndsWith(unit, ".service") && st.load_state() == "loaded") {
    st.set_main_pid(VariantOr<uint32_t>(props, "MainPID", 0));
    st.set_exec_main_status(VariantOr<int32_t>(props, "ExecMainStatus", 0));
    st.set_result(VariantOr<std::string>(props, "Result", ""));
    st.set_n_restarts(VariantOr<uint32_t>(props, "NRestarts", 0));
    st.set_timeout_start_us(VariantOr<uint64_t>(props, "TimeoutStartUSec", 0));
    st.set_timeout_stop_us(VariantOr<uint64_t>(props, "TimeoutStopUSec", 0));
  }
  st.set_read_at_unix_us(RealClock::Get()->NowUnixUs());
  return st;
}

}  // namespace

absl::StatusOr<v1::UnitState> DbusSystemdManager::GetUnitState(const std::string& unit) {
  return GetUnitStateUntil(unit, std::chrono::steady_clock::now() + kReadBudget);
}

std::vector<absl::StatusOr<v1::UnitState>> DbusSystemdManager::GetUnitStates(const std::vector<std::string>& units) {
  return GetUnitStatesUntil(units, std::chrono::steady_clock::now() + kReadBudget);
}

absl::StatusOr<v1::UnitState> DbusSystemdManager::GetUnitStateUntil(const std::string& unit, SteadyTime deadline) {
  return std::move(GetUnitStatesUntil({unit}, deadline).front());
}

std::vector<absl::StatusOr<v1::UnitState>> DbusSystemdManager::GetUnitStatesUntil(const std::vector<std::string>& units,
                                                                                  SteadyTime deadline) {
  std::vector<absl::StatusOr<v1::UnitState>> out;
  if (units.empty()) return out;
  // systemd's private socket first (no bus daemon between; it does not depend on dbus running),
  // the system bus when that socket cannot be used, or did not answer while the deadline leaves
  // time (its reads are capped by kCallTimeout).
  absl::StatusOr<std::vector<UnitProps>> read = ReadUnitPropsPrivately(units, deadline);
  if (!read.ok() && (read.status().code() != absl::StatusCode::kDeadlineExceeded ||
                     std::chrono::steady_clock::now() < deadline))
    read = WithReconnect(absl::StrCat("reading state of ", units.front(), units.size() > 1 ? " and others" : ""),
                         deadline, [&] { return ReadUnitProps(units, deadline); });
  for (size_t i = 0; i < units.size(); ++i) {
    if (!read.ok()) {
      out.push_back(read.status());
    } else if ((*read)[i].error) {
      out.push_back(FromDbusError("reading state of " + units[i], *(*read)[i].error));
    } else {
      out.push_back(UnitStateFrom(units[i], (*read)[i].props));
    }
  }
  return out;
}

namespace {

// (unit index, property) of every Get a read of `units` sends; a .service also answers its
// Service properties.
std::vector<std::pair<size_t, const Prop*>> PropertyGets(const std::vector<std::string>& units) {
  std::vector<std::pair<size_t, const Prop*>> gets;
  for (size_t u = 0; u < units.size(); ++u) {
    for (const Prop& p : kUnitProps) gets.emplace_back(u, &p);
    if (absl::EndsWith(units[u], ".service"))
      for (const Prop& p : kServiceProps) gets.emplace_back(u, &p);
  }
  return gets;
}

}  // namespace

std::vector<DbusSystemdManager::UnitProps> DbusSystemdManager::AssembleUnitProps(
    const std::vector<std::string>& units, const std::vector<std::pair<size_t, const Prop*>>& gets,
    std::vector<DbusPrivateReader::Answer>& answers) {
  std::vector<UnitProps> out(units.size());
  std::vector<std::optional<sdbus::Error>> service_error(units.size());
  for (size_t i = 0; i < gets.size(); ++i) {
    const size_t u = gets[i].first;
    if (answers[i].value) out[u].props[gets[i].second->name] = std::move(*answers[i].value);
    if (!answers[i].error) continue;
    if (IsBusBroken(*answers[i].error)) throw *answers[i].error;
    auto& first = gets[i].second->iface == std::string(kUnitIface) ? out[u].error : service_error[u];
    if (!first) first = *answers[i].error;
  }
  // A unit that is not loaded has no Service properties; a loaded service must answer them.
  for (size_t u = 0; u < units.size(); ++u)
    if (!out[u].error && service_error[u] && VariantOr<std::string>(out[u].props, "LoadState", "") == "loaded")
      out[u].error = service_error[u];
  return out;
}

absl::StatusOr<std::vector<DbusSystemdManager::UnitProps>> DbusSystemdManager::ReadUnitPropsPrivately(
    const std::vector<std::string>& units, SteadyTime deadline) {
  const auto gets = PropertyGets(units);
  std::vector<DbusPrivateReader::Get> wire;
  wire.reserve(gets.size());
  for (const auto& [u, prop] : gets) wire.push_back({UnitObjectPath(units[u]), prop->iface, prop->name});
  auto answers = private_reader_.Read(wire, CallTimeoutUntil(std::chrono::steady_clock::now(), deadline));
  absl::StatusOr<std::vector<UnitProps>> out = absl::UnavailableError("not read");
  if (!answers.ok()) {
    out = answers.status();
  } else {
    try {
      out = AssembleUnitProps(units, gets, *answers);
    } catch (const sdbus::Error& e) {  // an answer says the connection broke: read over the bus
      out = absl::UnavailableError(absl::StrCat(e.getName(), ": ", e.getMessage()));
    }
  }
  const int said = out.ok() ? 2 : 1;  // log the way reads go when it changes, not every read
  if (private_said_.exchange(said) != said) {
    if (out.ok()) GetLogger("agent")->info("unit state read over systemd's private socket");
    else GetLogger("agent")->info("unit state not read over systemd's private socket: {}", out.status().message());
  }
  if (out.ok()) metrics_->StateRead(/*private_socket=*/true);
  return out;
}

std::vector<DbusSystemdManager::UnitProps> DbusSystemdManager::ReadUnitProps(const std::vector<std::string>& units,
                                                                              SteadyTime deadline) {
  const auto gets = PropertyGets(units);
  auto pending = std::make_shared<PendingGets>();
  pending->answers.resize(gets.size());
  const auto timeout = CallTimeoutUntil(std::chrono::steady_clock::now(), deadline);
  // The system bus lets a connection wait for at most 128 replies (max_replies_per_connection):
  // the Gets go out kMaxGetsInFlight at a time (a host with 100 units reads in 16 rounds).
  for (size_t first = 0; first < gets.size(); first += kMaxGetsInFlight) {
    const size_t end = std::min(gets.size(), first + kMaxGetsInFlight);
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(conn_mu_);
      generation = generation_;
      {
        std::lock_guard<std::mutex> l(pending->mu);
        pending->left = end - first;
      }
      for (size_t i = first; i < end; ++i)
        UnitProxyLocked(units[gets[i].first]).callMethodAsync("Get").onInterface(kPropsIface).withTimeout(timeout)
            .withArguments(std::string(gets[i].second->iface), std::string(gets[i].second->name))
            .uponReplyInvoke([pending, i](const sdbus::Error* e, sdbus::Variant v) {
              std::lock_guard<std::mutex> l(pending->mu);
              if (e != nullptr) pending->answers[i].error = *e;
              else pending->answers[i].value = std::move(v);
              if (--pending->left == 0) pending->cv.notify_all();
            });
    }
    AwaitGets(pending.get(), timeout, [&] { return disconnected_ || generation_ != generation; });
  }
  auto out = AssembleUnitProps(units, gets, pending->answers);  // throws when the bus broke
  metrics_->StateRead(/*private_socket=*/false);
  return out;
}

absl::StatusOr<bool> DbusSystemdManager::JobExists(const std::string& job, SteadyTime deadline) {
  return WithReconnect("reading job " + job, deadline, [&]() -> bool {
    std::lock_guard<std::mutex> lock(conn_mu_);
    auto proxy = sdbus::createProxy(*conn_, kService, job);
    try {
      proxy->getProperty("State").onInterface("org.freedesktop.systemd1.Job");
      return true;
    } catch (const sdbus::Error& e) {
      if (IsBusBroken(e)) throw;
      return false;  // UnknownObject / NoSuchJob: systemd is done with it
    }
  });
}

absl::StatusOr<std::string> DbusSystemdManager::InferResultFromState(JobKind kind, const std::string& unit,
                                                                     SteadyTime deadline) {
  auto st = GetUnitStateUntil(unit, deadline);
  if (!st.ok()) return st.status();
  const std::string& a = st->active_state();
  if (a == "activating" || a == "deactivating" || a == "reloading")
    return absl::DeadlineExceededError(absl::StrCat(unit, " is still ", a));
  if (kind == JobKind::kStart) return a == "active" ? "done" : "failed";
  return (a == "inactive" || a == "failed") ? "done" : "failed";
}

absl::StatusOr<JobOutcome> DbusSystemdManager::RunJob(JobKind kind, const std::string& unit,
                                                      std::chrono::milliseconds timeout) {
  const char* method = kind == JobKind::kStart ? "StartUnit" : "StopUnit";
  const auto start = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  const auto deadline = start + timeout;
  auto job = WithReconnect(absl::StrCat(method, " ", unit), deadline, [&]() -> std::string {
    std::lock_guard<std::mutex> lock(conn_mu_);
    sdbus::ObjectPath path;
    manager_->callMethod(method).onInterface(kManagerIface)
        .withTimeout(CallTimeoutUntil(std::chrono::steady_clock::now(), deadline))
        .withArguments(unit, std::string("replace")).storeResultsTo(path);
    generation = generation_;
    return path;
  });
  if (!job.ok()) return job.status();

  JobOutcome outcome;
  for (;;) {
    {
      // JobRemoved may have arrived before StartUnit's reply: look in the map first.
      std::unique_lock<std::mutex> lock(jobs_mu_);
      const auto wake = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
      jobs_cv_.wait_until(lock, wake, [&] { return finished_jobs_.count(*job) > 0 || disconnected_; });
      auto it = finished_jobs_.find(*job);
      if (it != finished_jobs_.end()) {
        outcome.result = it->second;
        finished_jobs_.erase(it);
        break;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return absl::DeadlineExceededError(absl::StrCat(method, " ", unit, ": no result from systemd within ",
                                                      timeout.count(), " ms (job ", std::string(*job),
                                                      " left to systemd)"));
    // Quiet for 500 ms, or the bus went away: read the unit (private socket, else the bus, which
    // reconnects if dbus restarted); JobExists below reconnects the bus too.
    if (disconnected_) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    (void)GetUnitStateUntil(unit, deadline);
    {
      std::lock_guard<std::mutex> clock(conn_mu_);
      if (generation_ != generation) break;  // the signal may have been lost with the old connection
    }
    // systemd re-executed (daemon-reexec) or the signal was otherwise lost: the job is gone.
    auto exists = JobExists(*job, deadline);
    if (exists.ok() && !*exists) {
      std::lock_guard<std::mutex> lock(jobs_mu_);
      auto it = finished_jobs_.find(*job);
      if (it != finished_jobs_.end()) {
        outcome.result = it->second;
        finished_jobs_.erase(it);
      }
    }
    if (exists.ok() && !*exists) {
      // A re-executed systemd may have forgotten our subscription: renew it (harmless if not).
      std::lock_guard<std::mutex> clock(conn_mu_);
      try {
        manager_->callMethod("Subscribe").onInterface(kManagerIface).withTimeout(kCallTimeout);
      } catch (const sdbus::Error&) {
        // Already subscribed.
      }
      break;
    }
  }
  if (outcome.result.empty()) {
    // The bus restarted while we waited: ask the unit instead of reporting a false failure.
    for (;;) {
      auto inferred = InferResultFromState(kind, unit, deadline);
      if (inferred.ok()) {
        outcome.result = *inferred;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) return inferred.status();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
  if (kind == JobKind::kStart && outcome.result == "failed") {
    auto st = GetUnitState(unit);
    if (st.ok() && st->result() == "start-limit-hit") outcome.result = "start-limit-hit";
  }
  return outcome;
}

absl::Status DbusSystemdManager::ResetFailed(const std::string& unit) {
  auto r = WithReconnect("ResetFailedUnit " + unit, std::chrono::steady_clock::now() + kReadBudget, [&]() -> bool {
    std::lock_guard<std::mutex> lock(conn_mu_);
    manager_->callMethod("ResetFailedUnit").onInterface(kManagerIface).withTimeout(kCallTimeout)
        .withArguments(unit);
    return true;
  });
  return r.status();
}

absl::Status DbusSystemdManager::KillUnit(const std::string& unit, const std::string& who, KillSignal signal) {
  const int32_t signo = KillSignalNumber(signal);
  auto r = WithReconnect("KillUnit " + unit, std::chrono::steady_clock::now() + kReadBudget, [&]() -> bool {
    std::lock_guard<std::mutex> lock(conn_mu_);
    manager_->callMethod("KillUnit").onInterface(kManagerIface).withTimeout(kCallTimeout)
        .withArguments(unit, who, signo);
    return true;
  });
  return r.status();
}

}  // namespace failover::agent
