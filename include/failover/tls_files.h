// mTLS settings as plain data, and the plaintext address rule. No gRPC here: config headers and
// pure code include this; the credential builders are in failover/tls.h.
#pragma once

#include <string>

namespace failover {

// PEM file paths. All three set = mTLS; all empty = plaintext (only where explicitly allowed).
struct TlsFiles {
  std::string ca_file;    // CA that signs the peers' certificates
  std::string cert_file;  // our certificate chain
  std::string key_file;   // our private key
  bool enabled() const { return !ca_file.empty() || !cert_file.empty() || !key_file.empty(); }
};

// Plaintext is allowed only on loopback addresses or unix sockets.
bool IsLoopbackOrUnixAddress(const std::string& address);

}  // namespace failover
