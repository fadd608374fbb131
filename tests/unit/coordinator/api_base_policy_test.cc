#include "coordinator/api_base_policy.h"

#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

std::vector<ApiBasePrefix> Allowed(std::initializer_list<const char*> prefixes) {
  std::vector<ApiBasePrefix> out;
  for (const char* p : prefixes) {
    auto parsed = ParseApiBasePrefix(p);
    EXPECT_TRUE(parsed.ok()) << p << ": " << parsed.status();
    if (parsed.ok()) out.push_back(*parsed);
  }
  return out;
}

const std::vector<ApiBasePrefix>& SeedAllowed() {
  static const auto* a =
      new std::vector<ApiBasePrefix>(Allowed({"https://api.staging.example.com/", "http://10.77.0.", "http://svc.local/api"}));
  return *a;
}

TEST(ApiBasePolicy, NormalisesSchemeHostAndDefaultPort) {
  auto u = NormalizeHttpUrl("HTTPS://API.Staging.Example.COM");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->Canonical(), "https://api.staging.example.com:443/");
  auto v = NormalizeHttpUrl("http://10.77.0.11:8080/v1");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->Canonical(), "http://10.77.0.11:8080/v1");
}

TEST(ApiBasePolicy, AcceptsABaseUnderAnAllowedPrefix) {
  for (const char* ok : {"https://api.staging.example.com", "https://api.staging.example.com/", "https://API.staging.example.com:443/v2",
                         "http://10.77.0.1:8099", "http://10.77.0.254/", "http://svc.local/api", "http://svc.local/api/v1"}) {
    auto r = CheckCallerApiBase(ok, SeedAllowed());
    EXPECT_TRUE(r.ok()) << ok << ": " << r.status();
  }
}

TEST(ApiBasePolicy, RefusesTheTricksThatLookLikeAnAllowedPrefix) {
  for (const char* bad : {
           "https://api.staging.example.com@evil.example/",       // userinfo: the host is evil.example
           "https://api.staging.example.com:443@evil.example/",   // userinfo with a port-looking part
           "https://api.staging.example.com.evil.example/",       // suffix on the allowed host
           "https://api.staging.example.com./",                   // trailing dot
           "https://api.staging.example.com:8443/",               // another port than the allowed (default 443)
           "http://api.staging.example.com/",                     // another scheme
           "https://evil.example/https://api.staging.example.com/",  // the allowed URL in the path
           "https://api.staging.example.com\\@evil.example/",    // backslash
           "https://api.staging.example.com%2eevil.example/",     // percent-escaped dot
           "https://api.staging.example.com#@evil.example/",      // fragment
           "https://api.staging.example.com?@evil.example/",      // query
           "https://api.staging.example.com /",                   // space
           "http://10.77.0.1.nip.io/",                            // the network prefix as a DNS label
           "http://10.77.0.011/",                                 // octal-looking octet
           "http://10.77.0.256/",                                 // not an address
           "http://10.77.00.1/",                                  // leading zero before the prefix ends
           "http://0x0a4d0001/",                                  // hex form of 10.77.0.1
           "http://svc.local/apix",                               // path prefix not at a segment boundary
           "http://svc.local/api/../admin",                       // dot-dot segment
           "http://svc.local//api",                               // empty segment
           "ftp://api.staging.example.com/",                      // not http(s)
           "api.staging.example.com",                             // no scheme
           "http://[::1]/",                                       // IPv6 literal
       }) {
    auto r = CheckCallerApiBase(bad, SeedAllowed());
    EXPECT_FALSE(r.ok()) << bad << " was accepted as " << r->Canonical();
  }
}

TEST(ApiBasePolicy, ARefusalNamesTheUrlAndTheAllowedList) {
  auto r = CheckCallerApiBase("https://api.prod.example.com", SeedAllowed());
  ASSERT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  const std::string msg(r.status().message());
  EXPECT_NE(msg.find("https://api.prod.example.com"), std::string::npos) << msg;
  EXPECT_NE(msg.find("https://api.staging.example.com/"), std::string::npos) << msg;
  EXPECT_NE(msg.find("http://10.77.0."), std::string::npos) << msg;
  EXPECT_EQ(CheckCallerApiBase("http://x@y/", SeedAllowed()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ApiBasePolicy, NoAllowedPrefixesRefusesEveryCallerBase) {
  auto r = CheckCallerApiBase("http://10.77.0.1/", {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("takes no API base from callers"), std::string::npos);
}

TEST(ApiBasePolicy, RefusesMalformedPrefixesInTheConfig) {
  for (const char* bad : {"http://evil.", "http://user@10.77.0.", "http://10.77.0.1.2.", "10.77.0.", "http://a..b/"})
    EXPECT_FALSE(ParseApiBasePrefix(bad).ok()) << bad;
  EXPECT_TRUE(ParseApiBasePrefix("http://10.").ok());
}

}  // namespace
}  // namespace failover::coordinator
