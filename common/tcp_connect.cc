#include "failover/tcp_connect.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace failover {

namespace {

int MsLeft(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

absl::StatusOr<HostPort> SplitAddress(std::string address) {
  for (const char* scheme : {"ipv4:", "ipv6:", "dns:///", "dns:"})
    if (absl::StartsWith(address, scheme)) address = address.substr(strlen(scheme));
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size())
    return absl::InvalidArgumentError(absl::StrCat("address ", address, " has no port (host:port)"));
  HostPort e{address.substr(0, colon), address.substr(colon + 1)};
  if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  return e;
}

bool WaitFd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int n;
  do {
    n = poll(&p, 1, MsLeft(deadline));
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

absl::StatusOr<int> ConnectTcp(const std::string& address, const HostPort& e,
                               std::chrono::steady_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &res); rc != 0)
    return absl::UnavailableError(absl::StrCat("cannot resolve ", address, ": ", gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, &freeaddrinfo);
  int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, res->ai_protocol);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("socket: ", std::strerror(errno)));
  int err = 0;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    err = errno;
    if (err == EINPROGRESS) {
      if (!WaitFd(fd, POLLOUT, deadline)) {
        close(fd);
        return absl::DeadlineExceededError(absl::StrCat("TCP connect to ", address, " did not finish in time"));
      }
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    }
  }
  if (err != 0) {
    close(fd);
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address, ": ", std::strerror(err)));
  }
  return fd;
}

}  // namespace failover
