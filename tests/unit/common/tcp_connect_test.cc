// SplitAddress and ConnectTcp against real sockets on 127.0.0.1.
#include "failover/tcp_connect.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace failover {
namespace {

TEST(SplitAddress, TakesHostAndPortFromTheFormsGrpcAndCivetwebUse) {
  auto plain = SplitAddress("10.77.0.12:7700");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "10.77.0.12");
  EXPECT_EQ(plain->port, "7700");
  auto v6 = SplitAddress("ipv6:[::1]:9465");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9465");
  auto dns = SplitAddress("dns:///coordinator.example:443");
  ASSERT_TRUE(dns.ok());
  EXPECT_EQ(dns->host, "coordinator.example");
}

TEST(SplitAddress, AnAddressWithoutAPortIsAnErrorNamingIt) {
  auto none = SplitAddress("9465");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("address 9465 has no port"), std::string::npos) << none.status();
}

// A listening socket on 127.0.0.1 (any free port); its port.
int Listen(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (bind(*fd, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(*fd, 4) != 0) return 0;
  getsockname(*fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

TEST(ConnectTcp, ConnectsToAListeningSocketAndNamesTheAddressWhenNothingListens) {
  int listener = -1;
  const int port = Listen(&listener);
  ASSERT_NE(port, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  auto fd = ConnectTcp("127.0.0.1:" + std::to_string(port), {"127.0.0.1", std::to_string(port)}, deadline);
  ASSERT_TRUE(fd.ok()) << fd.status();
  close(*fd);
  close(listener);  // nothing listens there now
  auto refused = ConnectTcp("the-address", {"127.0.0.1", std::to_string(port)}, deadline);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("cannot connect to the-address"), std::string::npos) << refused.status();
}

}  // namespace
}  // namespace failover
