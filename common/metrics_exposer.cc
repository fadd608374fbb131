#include "common/metrics_exposer.h"

#include <netdb.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace failover {

absl::StatusOr<std::unique_ptr<prometheus::Exposer>> ServeMetrics(const std::string& addr, const std::string& flag,
                                                                  const std::string& example,
                                                                  std::shared_ptr<prometheus::Registry> registry) {
  try {
    auto exposer = std::make_unique<prometheus::Exposer>(addr, /*num_threads=*/1);
    exposer->RegisterCollectable(registry);
    return exposer;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(flag, " ", addr, ": cannot serve /metrics there (", e.what(),
                                                   "); give a free host:port, e.g. ", example));
  }
}

namespace {

// Opens and closes one TCP connection to host:port (our own listening socket: answers at once).
void Knock(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    // A bound address whose SYNs a firewall drops must not hold the stop: a connect gives up in 50 ms.
    const timeval limit{0, 50 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof(limit));
    const bool connected = connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    close(fd);
    if (connected) break;
  }
  freeaddrinfo(found);
}

// The host to knock at for a server bound to `addr` (host:port, [v6]:port, a port alone, or a
// civetweb list "a,b": its first entry; any-address: loopback).
std::string KnockHost(const std::string& addr) {
  const std::string first = addr.substr(0, addr.find(','));
  if (first.find(':') == std::string::npos) return "127.0.0.1";
  std::string host = first.substr(0, first.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0" || host == "*") return "127.0.0.1";
  if (host == "::") return "::1";
  return host;
}

}  // namespace

void StopMetrics(std::unique_ptr<prometheus::Exposer> exposer, const std::string& addr) {
  if (!exposer) return;
  const std::vector<int> ports = exposer->GetListeningPorts();
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    exposer.reset();
    stopped = true;
  });
  const std::string host = KnockHost(addr);
  while (!stopped) {
    for (int port : ports) Knock(host, port);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
}

}  // namespace failover
