// mTLS plumbing shared by agent, coordinator and CLI.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"

namespace failover {

// PEM file paths. All three set = mTLS; all empty = plaintext (only where explicitly allowed).
struct TlsFiles {
  std::string ca_file;    // CA that signs the peers' certificates
  std::string cert_file;  // our certificate chain
  std::string key_file;   // our private key
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// Server side: requires and verifies a client certificate signed by ca_file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& files);
// Client side: verifies the server against ca_file and presents our certificate.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const TlsFiles& files);

// The verified peer identity: the certificate's common name (or first SAN), "" when plaintext.
std::string PeerIdentity(const grpc::ServerContextBase& ctx);

// Plaintext is allowed only on loopback addresses or unix sockets.
bool IsLoopbackOrUnixAddress(const std::string& address);

// Channel arguments every client uses: keepalive so a dead peer is noticed.
grpc::ChannelArguments DefaultChannelArguments(const std::string& ssl_target_override = "");

}  // namespace failover
