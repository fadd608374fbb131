// Operators told what is wrong with TLS: our own certificate checked before connecting, a stalled
// handshake bounded, a refused certificate named; an agent's key cannot act as a client.
// Certificates are made here with OpenSSL; servers are real gRPC servers on loopback.
#include "failover/tls.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "failover/v1/agent.grpc.pb.h"
#include "gtest/gtest.h"

namespace failover {
namespace {

// A key and its certificate, freed with the test (LeakSanitizer runs these tests too).
struct Issued {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  Issued() = default;
  Issued(Issued&& o) noexcept : key(std::exchange(o.key, nullptr)), cert(std::exchange(o.cert, nullptr)) {}
  Issued(const Issued&) = delete;
  Issued& operator=(const Issued&) = delete;
  ~Issued() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `name` valid from now+from_s to now+to_s, signed by `ca` (self-signed CA
// when null). `eku`: "clientAuth", "serverAuth", ... (none for a CA).
Issued Make(const std::string& name, const Issued* ca, long from_s, long to_s, const char* eku) {
  Issued out;
  out.key = EVP_EC_gen("P-256");
  out.cert = X509_new();
  X509_set_version(out.cert, 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(out.cert), serial++);
  X509_gmtime_adj(X509_getm_notBefore(out.cert), from_s);
  X509_gmtime_adj(X509_getm_notAfter(out.cert), to_s);
  X509_set_pubkey(out.cert, out.key);
  X509_NAME* n = X509_get_subject_name(out.cert);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509* issuer = ca ? ca->cert : out.cert;
  X509_set_issuer_name(out.cert, X509_get_subject_name(issuer));
  if (ca) {
    AddExt(out.cert, issuer, NID_subject_alt_name, ("DNS:" + name).c_str());
    AddExt(out.cert, issuer, NID_ext_key_usage, eku);
  } else {
    AddExt(out.cert, issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(out.cert, issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  }
  X509_sign(out.cert, ca ? ca->key : out.key, EVP_sha256());
  return out;
}

std::string Write(const std::string& file, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/tls-test-" + file;
  std::ofstream(path) << text;
  return path;
}

std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  return out;
}

std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  return out;
}

// Writes ca.pem, NAME.pem and NAME.key; returns the files as a client or server would use them.
TlsFiles Files(const std::string& tag, const Issued& ca, const Issued& leaf, EVP_PKEY* key = nullptr) {
  return {Write(tag + "-ca.pem", CertPem(ca.cert)), Write(tag + ".pem", CertPem(leaf.cert)),
          Write(tag + ".key", KeyPem(key ? key : leaf.key))};
}

class Pki : public ::testing::Test {
 protected:
  static constexpr long kDay = 86400;
  Issued ca_ = Make("failover-ca", nullptr, -kDay, 10 * kDay, nullptr);
  Issued other_ca_ = Make("other-ca", nullptr, -kDay, 10 * kDay, nullptr);
};

TEST_F(Pki, AGoodCertificatePassesTheOwnCertificateCheck) {
  EXPECT_TRUE(CheckOwnCertificate(Files("good", ca_, Make("operator", &ca_, -60, kDay, "clientAuth"))).ok());
}

TEST_F(Pki, AnExpiredCertificateIsNamedWithItsEndDate) {
  TlsFiles f = Files("expired", ca_, Make("operator", &ca_, -2 * kDay, -kDay, "clientAuth"));
  absl::Status s = CheckOwnCertificate(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(absl::StrCat("certificate ", f.cert_file, " expired on ")), std::string::npos)
      << s.message();
}

TEST_F(Pki, ACertificateNotYetValidIsNamed) {
  absl::Status s = CheckOwnCertificate(Files("future", ca_, Make("operator", &ca_, kDay, 2 * kDay, "clientAuth")));
  EXPECT_NE(s.message().find("is not valid yet"), std::string::npos) << s.message();
}

TEST_F(Pki, ACertificateOfAnotherCaIsNamedBeforeConnecting) {
  TlsFiles f = Files("foreign", ca_, Make("operator", &other_ca_, -60, kDay, "clientAuth"));
  absl::Status s = CheckOwnCertificate(f);
  EXPECT_NE(s.message().find(absl::StrCat("is not signed by the CA ", f.ca_file)), std::string::npos) << s.message();
}

TEST_F(Pki, AKeyThatDoesNotMatchTheCertificateIsNamed) {
  Issued other = Make("other", &ca_, -60, kDay, "clientAuth");
  TlsFiles f = Files("mismatch", ca_, Make("operator", &ca_, -60, kDay, "clientAuth"), other.key);
  absl::Status s = CheckOwnCertificate(f);
  EXPECT_NE(s.message().find(absl::StrCat("key ", f.key_file, " does not match certificate ")), std::string::npos)
      << s.message();
}

TEST(TlsHandshake, APeerThatAcceptsButNeverAnswersTimesOutWithinTheConnectTimeout) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 4), 0);  // the kernel completes the TCP handshake; nobody ever answers
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const Issued ca = Make("failover-ca", nullptr, -60, 86400, nullptr);
  TlsFiles f = Files("stall", ca, Make("operator", &ca, -60, 86400, "clientAuth"));
  const auto t0 = std::chrono::steady_clock::now();
  absl::Status s = ProbeTlsHandshake(absl::StrCat("127.0.0.1:", ntohs(a.sin_port)), f, "coordinator",
                                     std::chrono::milliseconds(700));
  const auto took = std::chrono::steady_clock::now() - t0;
  close(fd);
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s.message();
  EXPECT_NE(s.message().find("no TLS handshake with 127.0.0.1:"), std::string::npos) << s.message();
  EXPECT_GE(took, std::chrono::milliseconds(650));
  EXPECT_LT(took, std::chrono::milliseconds(2000));
}

// A real gRPC server with mTLS (server certificate "server" of `ca`) on loopback.
class TlsServer : public Pki {
 protected:
  void SetUp() override {
    TlsFiles f = Files("server", ca_, Make("server", &ca_, -60, kDay, "serverAuth"));
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", *MakeServerCredentials(f), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }
  absl::Status Handshake(const TlsFiles& f) {
    return ProbeTlsHandshake(absl::StrCat("127.0.0.1:", port_), f, "server", std::chrono::seconds(3));
  }
  v1::Agent::CallbackService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TlsServer, AClientCertificateOfTheCaIsAccepted) {
  EXPECT_TRUE(Handshake(Files("client-ok", ca_, Make("coordinator", &ca_, -60, kDay, "clientAuth"))).ok());
}

TEST_F(TlsServer, AServerRefusingOurCertificateIsSaidSo) {
  TlsFiles f = Files("client-foreign", ca_, Make("coordinator", &other_ca_, -60, kDay, "clientAuth"));
  absl::Status s = Handshake(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s.message();
  EXPECT_NE(s.message().find("refused our certificate"), std::string::npos) << s.message();
}

TEST_F(TlsServer, AnAgentsServerOnlyCertificateCannotActAsAClient) {
  absl::Status s = Handshake(Files("client-agent", ca_, Make("cerebro", &ca_, -60, kDay, "serverAuth")));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated) << s.message();
  EXPECT_NE(s.message().find("refused our certificate"), std::string::npos) << s.message();
}

TEST_F(TlsServer, AServerWeDoNotTrustIsNamed) {
  TlsFiles f = Files("client-wrong-ca", other_ca_, Make("coordinator", &other_ca_, -60, kDay, "clientAuth"));
  absl::Status s = Handshake(f);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s.message();
  EXPECT_NE(s.message().find("presented a certificate we do not trust"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace failover
