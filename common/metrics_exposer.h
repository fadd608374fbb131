// /metrics over HTTP for both daemons (edge: prometheus-cpp's civetweb exposer). The coordinator
// and the agent keep their own metric families; only the serving is shared.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace failover {

// Serves `registry` on http://ADDR/metrics. An error names the flag, the address and why, with
// `example` ("127.0.0.1:9464") as a free address to give instead.
absl::StatusOr<std::unique_ptr<prometheus::Exposer>> ServeMetrics(const std::string& addr, const std::string& flag,
                                                                  const std::string& example,
                                                                  std::shared_ptr<prometheus::Registry> registry);

// Stops a server ServeMetrics started on `addr`, at once: civetweb's stop waits for its accept
// loop, which polls in 2 s quanta, so a daemon's exit (and a restarted agent's return) waited up to
// 2 s. Connections to its own port wake that loop once the stop has begun.
void StopMetrics(std::unique_ptr<prometheus::Exposer> exposer, const std::string& addr);

}  // namespace failover
