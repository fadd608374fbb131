// Where the coordinator gets its agent clients: gRPC in the binary, in-process fakes in tests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/config.h"
#include "failover/agent_client.h"

namespace grpc {
class Channel;
}

namespace failover::coordinator {

class AgentClientFactory {
 public:
  virtual ~AgentClientFactory() = default;
  // A client for `host` built from the config's TLS settings; INVALID_ARGUMENT names what is wrong.
  virtual absl::StatusOr<std::unique_ptr<AgentClient>> Create(const Config& config, const HostConfig& host) = 0;
};

// The production factory: GrpcAgentClient (mTLS channel, deadlines). Channels are kept between
// runs, one per host, so a run does not pay a TCP + TLS handshake per agent: a cached channel is
// used again while the host's name, address and TLS files (path, size, mtime) are unchanged and
// the channel is not failing; otherwise a new one replaces it. A connection that broke while idle
// is redialled by the client's next call (GrpcAgentClient::CallOnce).
class GrpcAgentClientFactory : public AgentClientFactory {
 public:
  // Also turns off absl's deadlock-cycle bookkeeping for the process (gRPC's mutexes; see .cc).
  GrpcAgentClientFactory();
  absl::StatusOr<std::unique_ptr<AgentClient>> Create(const Config& config, const HostConfig& host) override;

  // Channels made so far (new or replaced); for tests and the benchmark.
  int channels_made() const;

 private:
  struct Cached {
    std::string key;
    std::shared_ptr<grpc::Channel> channel;
  };
  // The coordinator's own certificate is checked (expiry, key, CA) again at most this often.
  static constexpr std::chrono::seconds kOwnCertificateRecheck{30};

  absl::StatusOr<std::shared_ptr<grpc::Channel>> ChannelFor(const Config& config, const HostConfig& host);
  absl::Status CheckOwnCertificateCached(const Config& config, const HostConfig& host, const std::string& tls_key);

  mutable std::mutex mu_;
  std::map<std::string, Cached> channels_;  // host name -> channel
  std::map<std::string, std::chrono::steady_clock::time_point> own_cert_ok_;  // TLS key -> last good check
  int channels_made_ = 0;
};

// What a channel depends on, as one string: name, address, plaintext flag and each TLS file's
// path, size and modification time ("" parts for files that cannot be read).
std::string AgentChannelKey(const Config& config, const HostConfig& host);

}  // namespace failover::coordinator
