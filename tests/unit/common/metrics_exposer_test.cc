#include "common/metrics_exposer.h"

#include "gtest/gtest.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace failover {
namespace {

TEST(ServeMetrics, AnAddressItCannotServeOnIsAnErrorNamingTheFlagTheAddressAndAFreeOneToGive) {
  auto registry = std::make_shared<prometheus::Registry>();
  auto first = ServeMetrics("127.0.0.1:0", "--metrics-listen", "127.0.0.1:9464", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->GetListeningPorts().at(0);
  auto busy = ServeMetrics("127.0.0.1:" + std::to_string(port), "--metrics-listen", "127.0.0.1:9465", registry);
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("--metrics-listen 127.0.0.1:" + std::to_string(port)), std::string::npos)
      << busy.status();
  EXPECT_NE(busy.status().message().find("e.g. 127.0.0.1:9465"), std::string::npos) << busy.status();
}

}  // namespace
}  // namespace failover
