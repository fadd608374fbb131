// Property reads straight from systemd over its private socket (/run/systemd/private): peer to
// peer, no bus daemon between. Part of the D-Bus adapter (only DbusSystemdManager uses it); raw
// sd-bus, because sdbus-c++ 1.2 can only open connections that say Hello to a bus daemon.
//
// Why: every read over the system bus crosses dbus-daemon twice. Measured in a test host, the 10
// Gets of a service's state: 1.2-1.5 ms over the bus, 0.3 ms here (and far less CPU, which is
// what ten agents on two cores run short of). systemd accepts only root on this socket; where it
// is missing or refuses us, Read says Unavailable and the caller reads over the system bus, as
// before. Jobs and their JobRemoved signals stay on the bus connection.
//
// One connection, kept between reads and drained by its own thread: systemd sends every unit and
// job signal to every private connection, subscribed or not, so a kept connection nobody read
// would pile a host's signals up in PID 1's write queue; the drain reads them as they come and
// drops them (no match is installed). A connection per read instead cost 1.7-3.8 ms to open in a
// test host, more than the read over the bus.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "sdbus-c++/sdbus-c++.h"

struct sd_bus;

namespace failover::agent {

struct PrivateReaderTiming {
  // A connection no read used for this long is closed: PID 1 queues every signal for an open
  // private connection, so one is open only around reads (a run), not while the agent idles.
  std::chrono::milliseconds idle_close{30000};
  // After systemd did not answer in time here, reads go over the system bus for this long.
  std::chrono::milliseconds pause_after_timeout{30000};
  // The same after a connect that failed, or a connection systemd closed before answering
  // anything (it refused us: credentials, its limit of private connections).
  std::chrono::milliseconds pause_after_refusal{1000};
};

class DbusPrivateReader {
 public:
  static constexpr char kDefaultAddress[] = "unix:path=/run/systemd/private";
  using Timing = PrivateReaderTiming;
  // `address`: sd-bus address of systemd's private socket; "" disables the reader.
  explicit DbusPrivateReader(std::string address = kDefaultAddress, Timing timing = {});

  DbusPrivateReader(const DbusPrivateReader&) = delete;
  DbusPrivateReader& operator=(const DbusPrivateReader&) = delete;

  struct Get {
    std::string path;   // the unit's object path
    const char* iface;  // e.g. org.freedesktop.systemd1.Unit
    const char* name;   // the property
  };
  // The property's value, or systemd's error for it (e.g. a Service property of a unit that is
  // not loaded). Values of type s, t, u, i and b.
  struct Answer {
    std::optional<sdbus::Variant> value;
    std::optional<sdbus::Error> error;
  };
  // Sends every Get at once over the kept connection (connecting first when there is none) and
  // waits for all answers. DeadlineExceeded when systemd did not answer within `timeout` (the
  // connection is then dropped: late answers go nowhere); Unavailable when there was no
  // connection (none could be made, or a connect failed in the last second) or it broke during
  // the read: then nothing was read. Thread-safe; reads share the connection.
  absl::StatusOr<std::vector<Answer>> Read(const std::vector<Get>& gets, std::chrono::microseconds timeout);
  ~DbusPrivateReader();  // closes the connection, ends the drain

  // Reads done over the private socket since start, and whether a connection is open (for tests).
  uint64_t reads() const;
  bool connected();

 private:
  absl::Status ConnectLocked();
  void CloseLocked();  // wakes every read waiting on the closed connection
  void Drain();        // the drain thread: processes what systemd sends until the reader ends
  void Wake();         // the drain re-reads its state (new calls to send, a closed connection, the end)

  const std::string address_;
  const Timing timing_;
  std::mutex mu_;  // guards what follows, and every sd-bus call on bus_
  std::condition_variable answered_;  // an answer arrived, or the connection closed
  sd_bus* bus_ = nullptr;
  uint64_t generation_ = 0;  // +1 whenever a connection closes
  size_t in_flight_ = 0;     // reads waiting on bus_
  bool answered_ever_ = false;  // bus_ delivered an answer (systemd accepted us)
  std::chrono::steady_clock::time_point last_used_{}, retry_after_{};
  bool ending_ = false;
  int wake_fd_ = -1;  // eventfd
  std::thread drain_;  // started with the first connection
  std::atomic<uint64_t> reads_{0};
  std::atomic<int> waiting_reads_{0};  // reads waiting for mu_: the drain lets them in first
};

}  // namespace failover::agent
