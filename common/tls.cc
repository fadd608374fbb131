#include "failover/tls.h"

#include <fstream>
#include <sstream>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
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

grpc::ChannelArguments DefaultChannelArguments(const std::string& ssl_target_override) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 2000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Fail fast on a dead peer instead of backing off for a minute.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 16 * 1024 * 1024);
  if (!ssl_target_override.empty()) args.SetSslTargetNameOverride(ssl_target_override);
  return args;
}

}  // namespace failover
