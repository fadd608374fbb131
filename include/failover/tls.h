// mTLS plumbing shared by agent, coordinator and CLI.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/tls_files.h"
#include "grpcpp/grpcpp.h"

namespace failover {

// Server side: requires and verifies a client certificate signed by ca_file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& files);
// Client side: verifies the server against ca_file and presents our certificate.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const TlsFiles& files);

// The verified peer identity: the certificate's common name (or first SAN), "" when plaintext.
std::string PeerIdentity(const grpc::ServerContextBase& ctx);

// Channel arguments every client uses: keepalive so a dead peer is noticed.
grpc::ChannelArguments DefaultChannelArguments(const std::string& ssl_target_override = "");

}  // namespace failover
