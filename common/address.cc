#include "absl/strings/match.h"
#include "failover/tls_files.h"

namespace failover {

bool IsLoopbackOrUnixAddress(const std::string& address) {
  return absl::StartsWith(address, "unix:") || absl::StartsWith(address, "127.") ||
         absl::StartsWith(address, "localhost:") || absl::StartsWith(address, "[::1]:");
}

}  // namespace failover
