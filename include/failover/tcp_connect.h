// A TCP connection with a deadline, for the checks our own code makes before or beside gRPC
// (failoverctl's TLS handshake probe, a daemon waking its /metrics server's accept loop).
#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace failover {

struct HostPort {
  std::string host, port;
};

// "host:port", "[v6]:port", with gRPC's "ipv4:", "ipv6:", "dns:" schemes stripped. An error names
// the address when it has no port.
absl::StatusOr<HostPort> SplitAddress(std::string address);

// Waits for `events` (poll) on fd until the deadline. False on timeout.
bool WaitFd(int fd, short events, std::chrono::steady_clock::time_point deadline);

// A connected, non-blocking socket to `to` (resolved; its first address), or why not: resolving,
// refused (Unavailable) or not finished by the deadline (DeadlineExceeded), naming `address`.
absl::StatusOr<int> ConnectTcp(const std::string& address, const HostPort& to,
                               std::chrono::steady_clock::time_point deadline);

}  // namespace failover
