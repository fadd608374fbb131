#include "failover/tls.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "failover/tcp_connect.h"
#include "grpcpp/security/server_credentials.h"

namespace failover {
namespace {

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("TLS: ", what, " file is not set"));
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("TLS: cannot read ", what, " file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  if (ss.str().find("-----BEGIN") == std::string::npos)
    return absl::InvalidArgumentError(absl::StrCat("TLS: ", what, " file ", path, " holds no PEM data"));
  return ss.str();
}

struct Pems {
  std::string ca, cert, key;
};

absl::StatusOr<Pems> ReadPems(const TlsFiles& files) {
  Pems p;
  for (auto [what, path, dst] : {std::tuple{"CA", &files.ca_file, &p.ca},
                                 std::tuple{"certificate", &files.cert_file, &p.cert},
                                 std::tuple{"key", &files.key_file, &p.key}}) {
    auto pem = ReadPem(what, *path);
    if (!pem.ok()) return pem.status();
    *dst = std::move(*pem);
  }
  return p;
}

}  // namespace

namespace {

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

std::string AsnTime(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

std::vector<X509Ptr> ReadCerts(const std::string& pem) {
  std::vector<X509Ptr> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) out.emplace_back(x, &X509_free);
  ERR_clear_error();  // the end of the PEM data reads as an error
  BIO_free(bio);
  return out;
}

absl::Status CheckValidity(const TlsFiles& files, X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
    return absl::FailedPreconditionError(absl::StrCat("TLS: certificate ", files.cert_file, " is not valid yet (from ",
                                                      AsnTime(X509_get0_notBefore(cert)),
                                                      "): check this host's clock or reissue it"));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0)
    return absl::FailedPreconditionError(absl::StrCat("TLS: certificate ", files.cert_file, " expired on ",
                                                      AsnTime(X509_get0_notAfter(cert)),
                                                      ": issue a new one (deploy/make-certs.sh)"));
  return absl::OkStatus();
}

absl::Status CheckKeyMatches(const TlsFiles& files, const std::string& key_pem, X509* cert) {
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key)
    return absl::InvalidArgumentError(absl::StrCat("TLS: key file ", files.key_file, " holds no readable private key: ",
                                                   OpenSslError()));
  const bool match = X509_check_private_key(cert, key) == 1;
  EVP_PKEY_free(key);
  ERR_clear_error();
  if (!match)
    return absl::InvalidArgumentError(absl::StrCat("TLS: key ", files.key_file, " does not match certificate ",
                                                   files.cert_file, ": pass the key issued with that certificate"));
  return absl::OkStatus();
}

absl::Status CheckSignedByCa(const TlsFiles& files, const std::string& ca_pem, std::vector<X509Ptr>& chain) {
  X509_STORE* store = X509_STORE_new();
  for (auto& ca : ReadCerts(ca_pem)) X509_STORE_add_cert(store, ca.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted, chain[i].get());
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, chain[0].get(), untrusted);
  // Validity is checked (and named) separately; here only who signed it.
  X509_VERIFY_PARAM_set_flags(X509_STORE_CTX_get0_param(ctx), X509_V_FLAG_NO_CHECK_TIME);
  const bool ok = X509_verify_cert(ctx) == 1;
  const int err = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  ERR_clear_error();
  if (!ok)
    return absl::FailedPreconditionError(absl::StrCat("TLS: certificate ", files.cert_file, " is not signed by the CA ",
                                                      files.ca_file, " (", X509_verify_cert_error_string(err),
                                                      "): use the certificate issued by that CA, or the right --tls-ca"));
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckOwnCertificate(const TlsFiles& files) {
  auto pems = ReadPems(files);
  if (!pems.ok()) return pems.status();
  std::vector<X509Ptr> chain = ReadCerts(pems->cert);
  if (chain.empty())
    return absl::InvalidArgumentError(absl::StrCat("TLS: certificate file ", files.cert_file,
                                                   " holds no readable certificate"));
  if (absl::Status s = CheckKeyMatches(files, pems->key, chain[0].get()); !s.ok()) return s;
  if (absl::Status s = CheckValidity(files, chain[0].get()); !s.ok()) return s;
  return CheckSignedByCa(files, pems->ca, chain);
}

namespace {

using SslCtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

absl::StatusOr<SslCtxPtr> ClientContext(const TlsFiles& files) {
  auto pems = ReadPems(files);
  if (!pems.ok()) return pems.status();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
  for (auto& ca : ReadCerts(pems->ca)) X509_STORE_add_cert(store, ca.get());
  auto chain = ReadCerts(pems->cert);
  if (chain.empty()) return absl::InvalidArgumentError(absl::StrCat("TLS: no certificate in ", files.cert_file));
  SSL_CTX_use_certificate(ctx.get(), chain[0].get());
  for (size_t i = 1; i < chain.size(); ++i) SSL_CTX_add1_chain_cert(ctx.get(), chain[i].get());
  BIO* bio = BIO_new_mem_buf(pems->key.data(), static_cast<int>(pems->key.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key || SSL_CTX_use_PrivateKey(ctx.get(), key) != 1) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError(absl::StrCat("TLS: cannot use key ", files.key_file, ": ", OpenSslError()));
  }
  EVP_PKEY_free(key);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>("\x02h2"), 3);
  return ctx;
}

// The handshake's failure in an operator's words.
absl::Status HandshakeError(const std::string& address, SSL* ssl, const std::string& ssl_error) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK)
    return absl::UnavailableError(absl::StrCat(
        "the server at ", address, " presented a certificate we do not trust (", X509_verify_cert_error_string(verify),
        "): check --tls-ca and the server name (--tls-server-name / the host name in the config)"));
  if (absl::StrContains(ssl_error, "alert"))
    return absl::UnauthenticatedError(absl::StrCat(
        "the server at ", address, " refused our certificate at the TLS handshake (", ssl_error,
        "): it is not signed by the server's CA, is expired, or is not a client certificate (clientAuth)"));
  return absl::UnavailableError(absl::StrCat("TLS handshake with ", address, " failed: ", ssl_error));
}

// Runs SSL_connect (or, with `peek`, one SSL_peek) to completion or the deadline.
// 1: done, 0: timed out, -1: failed (error in *error).
int DriveSsl(SSL* ssl, int fd, bool peek, std::chrono::steady_clock::time_point deadline, std::string* error) {
  for (;;) {
    char byte;
    const int rc = peek ? SSL_peek(ssl, &byte, 1) : SSL_connect(ssl);
    if (rc > 0) return 1;
    const int why = SSL_get_error(ssl, rc);
    if (why == SSL_ERROR_WANT_READ || why == SSL_ERROR_WANT_WRITE) {
      if (!WaitFd(fd, why == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline)) return 0;
      continue;
    }
    *error = why == SSL_ERROR_ZERO_RETURN || why == SSL_ERROR_SYSCALL ? "the server closed the connection"
                                                                      : OpenSslError();
    return -1;
  }
}

}  // namespace

absl::Status ProbeTlsHandshake(const std::string& address, const TlsFiles& files, const std::string& server_name,
                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto endpoint = SplitAddress(address);
  if (!endpoint.ok()) return endpoint.status();
  auto ctx = ClientContext(files);
  if (!ctx.ok()) return ctx.status();
  auto fd = ConnectTcp(address, *endpoint, deadline);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx->get()), &SSL_free);
  const std::string name = server_name.empty() ? endpoint->host : server_name;
  in6_addr ip;
  const bool is_ip = inet_pton(AF_INET, name.c_str(), &ip) == 1 || inet_pton(AF_INET6, name.c_str(), &ip) == 1;
  if (is_ip) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl.get(), name.c_str());
    X509_VERIFY_PARAM_set1_host(SSL_get0_param(ssl.get()), name.c_str(), 0);
  }
  SSL_set_fd(ssl.get(), *fd);
  std::string error;
  int rc = DriveSsl(ssl.get(), *fd, /*peek=*/false, deadline, &error);
  // TLS 1.3: the server judges our certificate after our side finished; its verdict (an alert,
  // or its first bytes) follows. Wait briefly for it.
  bool after_handshake = false;
  if (rc == 1) {
    const auto verdict = std::min(deadline, std::chrono::steady_clock::now() + std::chrono::milliseconds(500));
    if (DriveSsl(ssl.get(), *fd, /*peek=*/true, verdict, &error) < 0) {
      rc = -1;
      after_handshake = true;
    }
  }
  absl::Status out = absl::OkStatus();
  if (after_handshake)  // the server hung up on a finished handshake: it refused our certificate
    out = absl::UnauthenticatedError(absl::StrCat(
        "the server at ", address, " refused our certificate right after the TLS handshake (", error,
        "): it is not signed by the server's CA, is expired, or is not a client certificate (clientAuth)"));
  else if (rc == 0)
    out = absl::DeadlineExceededError(absl::StrCat(
        "no TLS handshake with ", address, " within ", timeout.count(),
        " ms: the peer accepted the connection but did not answer (is it the right address? raise --connect-timeout "
        "if the network is slow)"));
  else if (rc < 0)
    out = HandshakeError(address, ssl.get(), error);
  ERR_clear_error();
  close(*fd);
  return out;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsFiles& files) {
  auto pems = ReadPems(files);
  if (!pems.ok()) return pems.status();
  grpc::SslServerCredentialsOptions opts(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = pems->ca;
  opts.pem_key_cert_pairs.push_back({pems->key, pems->cert});
  return grpc::SslServerCredentials(opts);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(const TlsFiles& files) {
  auto pems = ReadPems(files);
  if (!pems.ok()) return pems.status();
  grpc::SslCredentialsOptions opts;
  opts.pem_root_certs = pems->ca;
  opts.pem_private_key = pems->key;
  opts.pem_cert_chain = pems->cert;
  return grpc::SslCredentials(opts);
}

std::string PeerIdentity(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return "";
  for (const char* prop : {"x509_common_name", "x509_subject_alternative_name"}) {
    auto values = auth->FindPropertyValues(prop);
    if (!values.empty()) return std::string(values.front().data(), values.front().size());
  }
  return "";
}

grpc::ChannelArguments DefaultChannelArguments(const std::string& ssl_target_override,
                                               std::chrono::milliseconds connect_timeout, bool ping_when_idle) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, ping_when_idle ? 1 : 0);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Fail fast on a dead peer instead of backing off for a minute.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Also the deadline of one connection attempt, TLS handshake included (gRPC's default: 20 s).
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(connect_timeout.count()));
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 16 * 1024 * 1024);
  if (!ssl_target_override.empty()) args.SetSslTargetNameOverride(ssl_target_override);
  return args;
}

}  // namespace failover
