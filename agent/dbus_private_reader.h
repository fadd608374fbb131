// Property reads straight from systemd over its private socket (/run/systemd/private): peer to
// peer, no bus daemon between. Part of the D-Bus adapter (only DbusSystemdManager uses it); raw
// sd-bus, because sdbus-c++ 1.2 can only open connections that say Hello to a bus daemon.
//
// Why: every read over the system bus crosses dbus-daemon twice. Measured in a test host, the 10
// Gets of a service's state: 1.2-1.5 ms over the bus, 0.3 ms here (and far less CPU, which is
// what ten agents on two cores run short of). systemd accepts only root on this socket; where it
// is missing or refuses us, Read says Unavailable and the caller reads over the system bus, as
// before. Jobs and their JobRemoved signals stay on the bus connection.
#pragma once

#include <chrono>
#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sdbus-c++/sdbus-c++.h"

struct sd_bus;

namespace failover::agent {

class DbusPrivateReader {
 public:
  static constexpr char kDefaultAddress[] = "unix:path=/run/systemd/private";
  // `address`: sd-bus address of systemd's private socket; "" disables the reader.
  explicit DbusPrivateReader(std::string address = kDefaultAddress);

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
  // Connects, sends every Get at once, waits for all answers, closes. DeadlineExceeded when
  // systemd did not answer within `timeout`; Unavailable when there was no connection (none
  // could be made, or one failed in the last second) or it broke during the read: then nothing
  // was read. Thread-safe: each read has its own connection.
  absl::StatusOr<std::vector<Answer>> Read(const std::vector<Get>& gets, std::chrono::microseconds timeout);

  // Reads done over the private socket since start (for tests).
  uint64_t reads() const;

 private:
  absl::StatusOr<sd_bus*> Connect();

  const std::string address_;
  std::atomic<std::chrono::steady_clock::time_point> retry_after_{};
  std::atomic<uint64_t> reads_{0};
};

}  // namespace failover::agent
