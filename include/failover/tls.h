// mTLS plumbing shared by agent, coordinator and CLI.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/tls_files.h"
#include "grpcpp/grpcpp.h"

namespace failover {

// Server side: requires and verifies a client certificate signed by ca_file (and, by OpenSSL's
// default purpose check, one whose extendedKeyUsage allows clientAuth). A refused handshake is
// logged by gRPC 1.51 itself on stderr (the journal) as "Handshake failed with fatal error
// SSL_ERROR_SSL: ...: certificate verify failed", without the peer address: 1.51 exposes neither
// the address nor a hook for it (grpc/grpc#32893); a custom verifier would only see certificates.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& files);
// Client side: verifies the server against ca_file and presents our certificate.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const TlsFiles& files);

// The verified peer identity: the certificate's common name (or first SAN), "" when plaintext.
std::string PeerIdentity(const grpc::ServerContextBase& ctx);

inline constexpr std::chrono::milliseconds kDefaultConnectTimeout{5000};

// Channel arguments every client uses: keepalive so a dead peer is noticed, and a bound on one
// connection attempt (TCP connect + TLS handshake). `ping_when_idle` false: pings only while a
// call is open (a channel kept between runs then costs nothing while idle). Set here, not after:
// a second value of the same argument does not replace the first in gRPC 1.51.
grpc::ChannelArguments DefaultChannelArguments(const std::string& ssl_target_override = "",
                                               std::chrono::milliseconds connect_timeout = kDefaultConnectTimeout,
                                               bool ping_when_idle = true);

// Checks our own certificate before connecting: key matches, valid now, signed by ca_file.
// The error names the file and the fix.
absl::Status CheckOwnCertificate(const TlsFiles& files);
// One TLS handshake with `address` (host:port), as gRPC would do it, to say why a connection
// fails: DEADLINE_EXCEEDED (peer never answered within `timeout`), UNAUTHENTICATED (the server
// refused our certificate), UNAVAILABLE (not reachable, or we do not trust the server).
absl::Status ProbeTlsHandshake(const std::string& address, const TlsFiles& files, const std::string& server_name,
                               std::chrono::milliseconds timeout);

}  // namespace failover
