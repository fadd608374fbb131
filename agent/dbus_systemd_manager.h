// SystemdManager over the system D-Bus (sdbus-c++ 1.2). The only place sdbus::Error is caught.
#pragma once

#include <atomic>
#include <condition_variable>
#include <thread>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "agent/dbus_private_reader.h"
#include "agent/metrics.h"
#include "failover/systemd_manager.h"
#include "sdbus-c++/sdbus-c++.h"

namespace failover::agent {

using SteadyTime = std::chrono::steady_clock::time_point;
struct DbusProp;  // (interface, name) of a property a unit state is read from

// The back-off before retry `attempt` (0-based) of a D-Bus call whose bus is broken, or nullopt
// when that retry would not start before `deadline` (or after 20 attempts): every reconnect loop
// ends by the job's deadline, not ~12 s of back-off later.
std::optional<std::chrono::milliseconds> ReconnectBackoff(int attempt, SteadyTime now, SteadyTime deadline);
// A D-Bus call's own timeout: what is left until `deadline`, at most 10 s, at least 1 ms.
std::chrono::microseconds CallTimeoutUntil(SteadyTime now, SteadyTime deadline);

class DbusSystemdManager : public SystemdManager {
 public:
  // Connects to the system bus and subscribes to systemd's job signals.
  static absl::StatusOr<std::unique_ptr<DbusSystemdManager>> Create();
  ~DbusSystemdManager() override;

  absl::StatusOr<v1::UnitState> GetUnitState(const std::string& unit) override;
  // Every property Get of every unit is sent at once, then awaited once: systemd answers them
  // back to back (~0.5 ms for a service), where one GetAll of all its interfaces (~350
  // properties) took 2-4 ms per unit.
  std::vector<absl::StatusOr<v1::UnitState>> GetUnitStates(const std::vector<std::string>& units) override;
  absl::StatusOr<JobOutcome> RunJob(JobKind kind, const std::string& unit,
                                    std::chrono::milliseconds timeout) override;
  absl::Status ResetFailed(const std::string& unit) override;
  absl::Status KillUnit(const std::string& unit, const std::string& who, KillSignal signal) override;
  // Where reconnections are counted (/metrics); set before use.
  void set_metrics(MetricsSink* metrics) { metrics_ = metrics; }

 private:
  DbusSystemdManager() = default;
  MetricsSink* metrics_ = NullMetricsSink::Get();
  // (Re)creates the connection, the manager proxy and the JobRemoved subscription.
  absl::Status ConnectLocked();
  // Runs `call` against the manager; on a broken bus (dbus restarted) reconnects and retries
  // until `deadline` (DEADLINE_EXCEEDED naming `what` and the last error after it).
  template <typename F>
  auto WithReconnect(const std::string& what, SteadyTime deadline, F call) -> absl::StatusOr<decltype(call())>;
  absl::StatusOr<v1::UnitState> GetUnitStateUntil(const std::string& unit, SteadyTime deadline);
  std::vector<absl::StatusOr<v1::UnitState>> GetUnitStatesUntil(const std::vector<std::string>& units,
                                                                SteadyTime deadline);
  // One answer per unit: its properties, or the error that made it unreadable. Throws the error
  // of a broken bus (WithReconnect's cue), also when the connection was replaced meanwhile.
  struct UnitProps {
    std::map<std::string, sdbus::Variant> props;
    std::optional<sdbus::Error> error;
  };
  std::vector<UnitProps> ReadUnitProps(const std::vector<std::string>& units, SteadyTime deadline);
  // The same over systemd's private socket; Unavailable (nothing read) when it cannot answer.
  absl::StatusOr<std::vector<UnitProps>> ReadUnitPropsPrivately(const std::vector<std::string>& units,
                                                                SteadyTime deadline);
  // Answers of the Gets `gets` (unit index, property) into one UnitProps per unit. Throws the
  // error of a broken connection.
  static std::vector<UnitProps> AssembleUnitProps(const std::vector<std::string>& units,
                                                  const std::vector<std::pair<size_t, const DbusProp*>>& gets,
                                                  std::vector<DbusPrivateReader::Answer>& answers);
  DbusPrivateReader private_reader_;
  std::atomic<int> private_said_{0};  // what the log said last: 1 bus, 2 private socket
  void OnJobRemoved(uint32_t id, const sdbus::ObjectPath& job, const std::string& unit,
                    const std::string& result);
  // False once systemd no longer has the job object (it finished, whether or not we saw JobRemoved).
  absl::StatusOr<bool> JobExists(const std::string& job, SteadyTime deadline);
  // Infers a job's result from the unit's state when its JobRemoved was lost (bus restart).
  absl::StatusOr<std::string> InferResultFromState(JobKind kind, const std::string& unit, SteadyTime deadline);

  // Stops the event-loop thread of the current connection (if any) and waits for it.
  void StopLoopLocked();

  std::mutex conn_mu_;  // guards conn_, manager_ and loop_ (replaced on reconnect)
  std::unique_ptr<sdbus::IConnection> conn_;
  std::unique_ptr<sdbus::IProxy> manager_;
  // Proxy of a unit's object (path derived from its name), cached per connection.
  sdbus::IProxy& UnitProxyLocked(const std::string& unit);
  std::map<std::string, std::unique_ptr<sdbus::IProxy>> unit_proxies_;
  std::thread loop_;  // our own event loop: sdbus 1.2's async loop terminates the process on disconnect
  std::atomic<bool> disconnected_{false};
  std::atomic<uint64_t> generation_{0};  // bumped on every reconnect (under conn_mu_; read by waiters without it)

  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::map<std::string, std::string> finished_jobs_;  // job path -> result
  std::deque<std::string> finished_order_;            // bounds the map (other jobs are broadcast too)
};

}  // namespace failover::agent
