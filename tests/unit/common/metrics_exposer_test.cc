#include "common/metrics_exposer.h"

#include <chrono>
#include <thread>

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

TEST(StopMetrics, AServerStopsAtOnceNotAfterCivetwebsTwoSecondPoll) {
  // civetweb's own stop waits for its accept loop's poll (2 s quanta): a stop at a random point of
  // it takes 0-2 s, so five stops under 400 ms each would not happen without StopMetrics' knocks.
  auto registry = std::make_shared<prometheus::Registry>();
  for (int i = 0; i < 5; ++i) {
    auto server = ServeMetrics("127.0.0.1:0", "--metrics-listen", "127.0.0.1:9464", registry);
    ASSERT_TRUE(server.ok()) << server.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + 300 * i));  // another point of the poll
    const auto t0 = std::chrono::steady_clock::now();
    StopMetrics(std::move(*server), "127.0.0.1:0");
    const auto took =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(took, 400) << "stop " << i << " took " << took << " ms";
  }
}

}  // namespace
}  // namespace failover
