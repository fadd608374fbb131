#include "coordinator/api_base_policy.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace failover::coordinator {
namespace {

absl::Status Bad(absl::string_view url, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("API base \"", url.substr(0, 200), "\": ", why));
}

// Bytes no URL here may hold: anything two parsers could read differently.
absl::Status CheckBytes(absl::string_view url) {
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return Bad(url, "spaces, control and non-ASCII bytes are not allowed");
    if (c == '\\') return Bad(url, "a backslash is not allowed");
    if (c == '%') return Bad(url, "percent-escapes are not allowed");
    if (c == '?' || c == '#') return Bad(url, "a query or fragment is not allowed in an API base");
  }
  return absl::OkStatus();
}

absl::Status CheckHost(absl::string_view url, absl::string_view host) {
  if (host.empty()) return Bad(url, "no host");
  if (host.front() == '[') return Bad(url, "IPv6 literals are not supported; use a host name");
  for (char c : host)
    if (!absl::ascii_isalnum(c) && c != '.' && c != '-') return Bad(url, absl::StrCat("bad character '", std::string(1, c), "' in the host"));
  if (host.back() == '.' || host.front() == '.' || absl::StrContains(host, ".."))
    return Bad(url, "empty label in the host (leading, trailing or double dot)");
  return absl::OkStatus();
}

absl::Status CheckPath(absl::string_view url, absl::string_view path) {
  if (absl::StrContains(path, "//")) return Bad(url, "an empty path segment (\"//\") is not allowed");
  for (absl::string_view seg : absl::StrSplit(path, '/'))
    if (seg == "." || seg == "..") return Bad(url, "\".\" and \"..\" path segments are not allowed");
  return absl::OkStatus();
}

// Splits "scheme://authority/path" after the byte checks; the authority may not hold userinfo.
absl::Status SplitUrl(absl::string_view url, NormalizedUrl* out, absl::string_view* authority) {
  if (absl::Status s = CheckBytes(url); !s.ok()) return s;
  const size_t sep = url.find("://");
  if (sep == absl::string_view::npos) return Bad(url, "must start with http:// or https://");
  out->scheme = absl::AsciiStrToLower(url.substr(0, sep));
  if (out->scheme != "http" && out->scheme != "https") return Bad(url, "the scheme must be http or https");
  absl::string_view rest = url.substr(sep + 3);
  const size_t slash = rest.find('/');
  *authority = rest.substr(0, slash);
  out->path = slash == absl::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority->find('@') != absl::string_view::npos) return Bad(url, "user info (\"user@\") is not allowed");
  return CheckPath(url, out->path);
}

absl::Status SplitPort(absl::string_view url, absl::string_view authority, NormalizedUrl* out) {
  const size_t colon = authority.rfind(':');
  out->host = absl::AsciiStrToLower(authority.substr(0, colon));
  out->port = out->scheme == "https" ? 443 : 80;
  if (colon == absl::string_view::npos) return absl::OkStatus();
  absl::string_view port = authority.substr(colon + 1);
  int p = 0;
  const bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), absl::ascii_isdigit);
  if (!digits || !absl::SimpleAtoi(port, &p) || p < 1 || p > 65535) return Bad(url, "the port must be 1..65535");
  out->port = p;
  out->port_given = true;
  return absl::OkStatus();
}

// "10.77.0.1": four decimal octets 0..255 without leading zeros (no octal or hex tricks).
bool IsCanonicalIpv4(absl::string_view host) {
  std::vector<absl::string_view> parts = absl::StrSplit(host, '.');
  if (parts.size() != 4) return false;
  for (absl::string_view p : parts) {
    int v = 0;
    if (p.empty() || p.size() > 3 || (p.size() > 1 && p[0] == '0')) return false;
    if (!std::all_of(p.begin(), p.end(), absl::ascii_isdigit) || !absl::SimpleAtoi(p, &v) || v > 255) return false;
  }
  return true;
}

// A path prefix matches at a segment boundary: "/api" covers "/api" and "/api/v1", not "/apix".
bool PathUnder(const std::string& path, const std::string& prefix) {
  if (!absl::StartsWith(path, prefix)) return false;
  return prefix.back() == '/' || path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool Matches(const NormalizedUrl& u, const ApiBasePrefix& p) {
  if (u.scheme != p.url.scheme) return false;
  if (p.ipv4_network) return IsCanonicalIpv4(u.host) && absl::StartsWith(u.host, p.ipv4_prefix);
  return u.host == p.url.host && u.port == p.url.port && PathUnder(u.path, p.url.path);
}

}  // namespace

std::string NormalizedUrl::Canonical() const { return absl::StrCat(scheme, "://", host, ":", port, path); }

absl::StatusOr<NormalizedUrl> NormalizeHttpUrl(absl::string_view url) {
  NormalizedUrl out;
  absl::string_view authority;
  if (absl::Status s = SplitUrl(url, &out, &authority); !s.ok()) return s;
  if (absl::Status s = SplitPort(url, authority, &out); !s.ok()) return s;
  if (absl::Status s = CheckHost(url, out.host); !s.ok()) return s;
  return out;
}

absl::StatusOr<ApiBasePrefix> ParseApiBasePrefix(absl::string_view prefix) {
  ApiBasePrefix p;
  p.text = std::string(prefix);
  const size_t sep = prefix.find("://");
  absl::string_view after = sep == absl::string_view::npos ? "" : prefix.substr(sep + 3);
  if (!after.empty() && after.back() == '.' && after.find('/') == absl::string_view::npos) {
    // The network form: "http://10.77.0." — one to three leading octets, then the dot.
    std::vector<absl::string_view> octets = absl::StrSplit(after.substr(0, after.size() - 1), '.');
    const bool ok = octets.size() <= 3 &&
                    IsCanonicalIpv4(absl::StrCat(after, absl::StrJoin(std::vector<std::string>(4 - octets.size(), "0"), ".")));
    auto url = NormalizeHttpUrl(absl::StrCat(prefix, "0"));
    if (!ok || !url.ok())
      return Bad(prefix, "a prefix ending in '.' must be an IPv4 network prefix such as http://10.77.0.");
    p.url = *url;
    p.ipv4_network = true;
    p.ipv4_prefix = absl::AsciiStrToLower(after);
    return p;
  }
  auto url = NormalizeHttpUrl(prefix);
  if (!url.ok()) return url.status();
  p.url = *url;
  return p;
}

absl::StatusOr<NormalizedUrl> CheckCallerApiBase(absl::string_view api_base, const std::vector<ApiBasePrefix>& allowed) {
  auto url = NormalizeHttpUrl(api_base);
  if (!url.ok()) return url.status();
  for (const auto& p : allowed)
    if (Matches(*url, p)) return url;
  std::vector<std::string> names;
  for (const auto& p : allowed) names.push_back(p.text);
  return absl::PermissionDeniedError(absl::StrCat(
      "API base \"", api_base, "\" (", url->Canonical(), ") is not under the coordinator's health_check.allowed_api_bases [",
      absl::StrJoin(names, ", "), "]", allowed.empty() ? " (none: this coordinator takes no API base from callers)" : "",
      "; nothing was changed"));
}

}  // namespace failover::coordinator
