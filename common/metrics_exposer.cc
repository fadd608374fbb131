#include "common/metrics_exposer.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "failover/tcp_connect.h"
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

// Opens and closes one connection to our own listening socket (a firewall that drops SYNs to a
// non-loopback address must not hold the stop: 50 ms each).
void Knock(const HostPort& to) {
  auto fd = ConnectTcp(to.host, to, std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
  if (fd.ok()) close(*fd);
}

// The host to knock at for a server bound to `addr` (host:port, [v6]:port, a port alone, or a
// civetweb list "a,b": its first entry; any-address: loopback).
std::string KnockHost(const std::string& addr) {
  auto bound = SplitAddress(addr.substr(0, addr.find(',')));
  if (!bound.ok() || bound->host.empty() || bound->host == "0.0.0.0" || bound->host == "*") return "127.0.0.1";
  return bound->host == "::" ? "::1" : bound->host;
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
    for (int port : ports) Knock({host, std::to_string(port)});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
}

}  // namespace failover
