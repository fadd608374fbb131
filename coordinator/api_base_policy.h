// Which API_BASE a caller may hand the coordinator for its global health check (failoverctl
// --api-base): only one under a URL prefix of the coordinator's own health_check.allowed_api_bases.
// Pure: strings in, a decision out. URLs are normalised first (scheme and host lower-cased, the
// default port made explicit) and anything that could make two parsers disagree is refused:
// userinfo (`allowed.com@evil`), backslashes, percent-escapes, query or fragment, `.`/`..` path
// segments, spaces, control or non-ASCII bytes, IPv6 literals.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace failover::coordinator {

struct NormalizedUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case, no trailing dot
  int port = 0;        // explicit, or the scheme's default
  bool port_given = false;
  std::string path;  // "/" when empty; never holds "." or ".." segments
  // "scheme://host:port/path": the one form checked and the one form sent.
  std::string Canonical() const;
};

// INVALID_ARGUMENT naming the URL and what is wrong with it.
absl::StatusOr<NormalizedUrl> NormalizeHttpUrl(absl::string_view url);

// One entry of health_check.allowed_api_bases. Two forms:
//  - a URL ("https://api.staging.example.com/", "http://10.77.0.11:8080/v1"): same scheme, host and
//    port (the default port when none is written), and the candidate's path starts with its path at a
//    segment boundary;
//  - an IPv4 network prefix ending in a dot ("http://10.77.0."): same scheme, any port, and the
//    candidate's host is a dotted-decimal IPv4 address starting with it.
struct ApiBasePrefix {
  std::string text;  // as written, for messages
  NormalizedUrl url;
  bool ipv4_network = false;
  std::string ipv4_prefix;  // "10.77.0." when ipv4_network
};
absl::StatusOr<ApiBasePrefix> ParseApiBasePrefix(absl::string_view prefix);

// The caller's API_BASE, normalised, when it falls under one of `allowed`; else PERMISSION_DENIED
// naming the URL and the allowed list (INVALID_ARGUMENT for a malformed URL).
absl::StatusOr<NormalizedUrl> CheckCallerApiBase(absl::string_view api_base, const std::vector<ApiBasePrefix>& allowed);

}  // namespace failover::coordinator
