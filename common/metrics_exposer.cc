#include "common/metrics_exposer.h"

#include <exception>

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

}  // namespace failover
