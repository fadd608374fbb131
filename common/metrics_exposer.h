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

}  // namespace failover
