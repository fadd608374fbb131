#include "failover/probe.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "failover/unit_name.h"

namespace failover {
namespace {

constexpr uint32_t kMaxProbeMs = 10 * 60 * 1000;

size_t DiscardBody(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }

// Connects with a timeout; returns "" on success or the reason.
std::string TcpConnectOnce(const std::string& host, uint32_t port, uint32_t timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port_s = std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), port_s.c_str(), &hints, &res); rc != 0)
    return absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc));
  std::string err = "no address";
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      rc = poll(&p, 1, static_cast<int>(timeout_ms));
      if (rc == 0) {
        err = absl::StrCat("timeout after ", timeout_ms, " ms");
        close(fd);
        continue;
      }
      int so_error = 0;
      socklen_t len = sizeof(so_error);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len);
      rc = so_error == 0 ? 0 : -1;
      errno = so_error;
    }
    if (rc == 0) {
      close(fd);
      freeaddrinfo(res);
      return "";
    }
    err = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(res);
  return err;
}

}  // namespace

absl::Status ValidateProbeSpec(const v1::ProbeSpec& spec) {
  const std::string where = absl::StrCat("probe \"", spec.name().substr(0, 64), "\"");
  if (spec.name().empty() || spec.name().size() > 128)
    return absl::InvalidArgumentError("probe name must be 1..128 characters");
  if (spec.timeout_ms() == 0 || spec.timeout_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": timeout_ms must be 1..", kMaxProbeMs));
  if (spec.deadline_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": deadline_ms must be at most ", kMaxProbeMs));
  if (spec.interval_ms() > kMaxProbeMs)
    return absl::InvalidArgumentError(absl::StrCat(where, ": interval_ms must be at most ", kMaxProbeMs));
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kHttp: {
      const auto& h = spec.http();
      if (!(absl::StartsWith(h.url(), "http://") || absl::StartsWith(h.url(), "https://")) ||
          h.url().size() > 2048)
        return absl::InvalidArgumentError(absl::StrCat(where, ": url must start with http:// or https:// (",
                                                       "at most 2048 characters)"));
      for (char c : h.url())
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
          return absl::InvalidArgumentError(absl::StrCat(where, ": url contains whitespace or control bytes"));
      {
        // No user:password@ in the authority: it would hide the real host from a prefix check.
        const size_t start = h.url().find("://") + 3;
        const size_t end = h.url().find_first_of("/?#", start);
        if (h.url().substr(start, end == std::string::npos ? std::string::npos : end - start).find('@') !=
            std::string::npos)
          return absl::InvalidArgumentError(absl::StrCat(where, ": url must not carry a user name or password"));
      }
      if (h.expect_status() != 0 && (h.expect_status() < 100 || h.expect_status() > 599))
        return absl::InvalidArgumentError(absl::StrCat(where, ": expect_status must be 100..599"));
      if (h.bearer_secret().size() > 128)
        return absl::InvalidArgumentError(absl::StrCat(where, ": bearer_secret name too long"));
      return absl::OkStatus();
    }
    case v1::ProbeSpec::kTcp:
      if (spec.tcp().host().empty() || spec.tcp().host().size() > 253 || spec.tcp().port() == 0 ||
          spec.tcp().port() > 65535)
        return absl::InvalidArgumentError(absl::StrCat(where, ": tcp needs a host and a port 1..65535"));
      return absl::OkStatus();
    case v1::ProbeSpec::kUnit: {
      absl::Status s = ValidateUnitName(spec.unit().unit());
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
      if (!spec.unit().result_unit().empty()) {
        s = ValidateUnitName(spec.unit().result_unit());
        if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": result_unit: ", s.message()));
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(where, ": no kind (http, tcp or unit) set"));
  }
}

HttpAttempt HttpGetOnce(const std::string& url, uint32_t expect_status, const std::string& bearer_token,
                        uint32_t timeout_ms) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  HttpAttempt out;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.detail = "libcurl init failed";
    return out;
  }
  curl_slist* headers = nullptr;
  if (!bearer_token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + bearer_token).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, 1L << 20);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, DiscardBody);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // never route a probe through an ambient proxy
  const auto t0 = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  out.latency_us = MicrosSince(t0, std::chrono::steady_clock::now());
  const uint32_t want = expect_status == 0 ? 200 : expect_status;
  if (rc != CURLE_OK) {
    out.detail = rc == CURLE_OPERATION_TIMEDOUT ? absl::StrCat("timeout after ", timeout_ms, " ms")
                                                : std::string(curl_easy_strerror(rc));
  } else {
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    out.healthy = code == static_cast<long>(want);
    out.detail = out.healthy ? absl::StrCat("HTTP ", code)
                             : absl::StrCat("HTTP ", code, " (expected ", want, ")");
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

HttpAttempt LocalProbeRunner::Once(const v1::ProbeSpec& spec) {
  HttpAttempt a;
  const auto t0 = clock_->Now();
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kHttp: {
      std::string token;
      if (!spec.http().bearer_secret().empty()) {
        auto it = secrets_.find(spec.http().bearer_secret());
        if (it == secrets_.end()) {
          a.detail = absl::StrCat("secret \"", spec.http().bearer_secret(), "\" is not defined in the agent config");
          return a;
        }
        token = it->second;
      }
      return HttpGetOnce(spec.http().url(), spec.http().expect_status(), token, spec.timeout_ms());
    }
    case v1::ProbeSpec::kTcp: {
      std::string err = TcpConnectOnce(spec.tcp().host(), spec.tcp().port(), spec.timeout_ms());
      a.healthy = err.empty();
      a.detail = a.healthy ? "connected" : err;
      break;
    }
    case v1::ProbeSpec::kUnit: {
      if (systemd_ == nullptr) {
        a.detail = "unit probes are not available";
        break;
      }
      const auto& u = spec.unit();
      const std::string want = u.expect_active_state().empty() ? "active" : u.expect_active_state();
      auto st = systemd_->GetUnitState(u.unit());
      if (!st.ok()) {
        a.detail = std::string(st.status().message());
        break;
      }
      if (st->active_state() != want) {
        a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state(), " (expected ", want, ")");
        break;
      }
      if (!u.result_unit().empty()) {
        auto rs = systemd_->GetUnitState(u.result_unit());
        if (!rs.ok()) {
          a.detail = std::string(rs.status().message());
          break;
        }
        // A service that never ran has Result "success" too; that is not an incident.
        if (rs->result() != "success") {
          a.detail = absl::StrCat(u.result_unit(), " last result is ", rs->result(), " (exit status ",
                                  rs->exec_main_status(), ")");
          break;
        }
      }
      a.healthy = true;
      a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state());
      break;
    }
    default:
      a.detail = "no probe kind";
  }
  a.latency_us = MicrosSince(t0, clock_->Now());
  return a;
}

v1::ProbeResult LocalProbeRunner::Run(const v1::ProbeSpec& spec) {
  v1::ProbeResult r;
  r.set_name(spec.name());
  r.set_host(host_);
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kHttp: r.set_kind("http"); r.set_target(spec.http().url()); break;
    case v1::ProbeSpec::kTcp: r.set_kind("tcp"); r.set_target(absl::StrCat(spec.tcp().host(), ":", spec.tcp().port())); break;
    case v1::ProbeSpec::kUnit: r.set_kind("unit"); r.set_target(spec.unit().unit()); break;
    default: break;
  }
  const auto start = clock_->Now();
  const auto deadline = start + std::chrono::milliseconds(std::max(spec.deadline_ms(), spec.timeout_ms()));
  const auto interval = std::chrono::milliseconds(spec.interval_ms() == 0 ? 20 : spec.interval_ms());
  HttpAttempt a;
  uint32_t attempts = 0;
  for (;;) {
    const auto t = clock_->Now();
    a = Once(spec);
    ++attempts;
    if (a.healthy) break;
    const auto next = t + interval;
    if (next >= deadline || clock_->Now() >= deadline) break;  // no attempt starts after the deadline
    if (next > clock_->Now()) clock_->SleepFor(std::chrono::duration_cast<std::chrono::microseconds>(next - clock_->Now()));
  }
  r.set_healthy(a.healthy);
  r.set_detail(Redact(a.detail));
  r.set_latency_us(a.latency_us);
  r.set_attempts(attempts);
  r.set_finished_at_unix_us(clock_->NowUnixUs());
  return r;
}

}  // namespace failover
