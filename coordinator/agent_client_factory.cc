#include "coordinator/agent_client_factory.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/grpc_agent_client.h"
#include "failover/tls.h"

namespace failover::coordinator {
namespace {

std::string FileStamp(const std::string& path) {
  if (path.empty()) return "";
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::StrCat(path, ":?");
  const auto mtime = std::filesystem::last_write_time(path, ec);
  return absl::StrCat(path, ":", size, ":", ec ? 0 : mtime.time_since_epoch().count());
}

std::string TlsKey(const Config& config) {
  if (config.insecure_plaintext) return "plaintext";
  return absl::StrCat(FileStamp(config.tls.ca_file), "|", FileStamp(config.tls.cert_file), "|",
                      FileStamp(config.tls.key_file));
}

}  // namespace

std::string AgentChannelKey(const Config& config, const HostConfig& host) {
  return absl::StrCat(host.name, "|", host.agent, "|", TlsKey(config));
}

absl::Status GrpcAgentClientFactory::CheckOwnCertificateCached(const Config& config, const HostConfig& host,
                                                               const std::string& tls_key) {
  if (config.insecure_plaintext) return absl::OkStatus();
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = own_cert_ok_.find(tls_key);
    if (it != own_cert_ok_.end() && now - it->second < kOwnCertificateRecheck) return absl::OkStatus();
  }
  if (absl::Status s = CheckOwnCertificate(config.tls); !s.ok())
    return absl::Status(s.code(), absl::StrCat("host ", host.name, ": the coordinator's own certificate: ", s.message()));
  std::lock_guard<std::mutex> lock(mu_);
  own_cert_ok_[tls_key] = now;
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> GrpcAgentClientFactory::ChannelFor(const Config& config,
                                                                                  const HostConfig& host) {
  const std::string tls_key = TlsKey(config);
  const std::string key = absl::StrCat(host.name, "|", host.agent, "|", tls_key);
  // The own certificate is checked on a cached channel too (it may expire while cached).
  if (absl::Status s = CheckOwnCertificateCached(config, host, tls_key); !s.ok()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = channels_.find(host.name);
    if (it != channels_.end() && it->second.key == key) {
      const grpc_connectivity_state state = it->second.channel->GetState(false);
      if (state != GRPC_CHANNEL_TRANSIENT_FAILURE && state != GRPC_CHANNEL_SHUTDOWN) return it->second.channel;
    }
  }
  auto channel = GrpcAgentClient::NewChannel(config, host);
  if (!channel.ok()) return channel.status();
  std::lock_guard<std::mutex> lock(mu_);
  channels_[host.name] = Cached{key, *channel};
  ++channels_made_;
  return *channel;
}

absl::StatusOr<std::unique_ptr<AgentClient>> GrpcAgentClientFactory::Create(const Config& config,
                                                                           const HostConfig& host) {
  auto channel = ChannelFor(config, host);
  if (!channel.ok()) return channel.status();
  return std::unique_ptr<AgentClient>(GrpcAgentClient::Over(config, host, *std::move(channel)));
}

GrpcAgentClientFactory::GrpcAgentClientFactory() {
  // gRPC's absl::Mutex records every lock order for deadlock-cycle reports (on in Debian's absl
  // build): ~10 % of the coordinator's CPU in a 1,000-host run (make bench-scale, perf). The
  // coordinator makes one factory at start-up, before it serves.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

int GrpcAgentClientFactory::channels_made() const {
  std::lock_guard<std::mutex> lock(mu_);
  return channels_made_;
}

}  // namespace failover::coordinator
