#include "common/probe_runner.h"

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

namespace failover {
namespace {

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

// One look at a unit (and its result unit): healthy when in the expected state.
HttpAttempt UnitOnce(SystemdManager* systemd, const v1::UnitProbe& u) {
  HttpAttempt a;
  if (systemd == nullptr) {
    a.detail = "unit probes are not available";
    return a;
  }
  const std::string want = u.expect_active_state().empty() ? "active" : u.expect_active_state();
  auto st = systemd->GetUnitState(u.unit());
  if (!st.ok()) {
    a.detail = std::string(st.status().message());
    return a;
  }
  if (st->active_state() != want) {
    a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state(), " (expected ", want, ")");
    return a;
  }
  if (!u.result_unit().empty()) {
    auto rs = systemd->GetUnitState(u.result_unit());
    if (!rs.ok()) {
      a.detail = std::string(rs.status().message());
      return a;
    }
    // A service that never ran has Result "success" too; that is not an incident.
    if (rs->result() != "success") {
      a.detail = absl::StrCat(u.result_unit(), " last result is ", rs->result(), " (exit status ",
                              rs->exec_main_status(), ")");
      return a;
    }
  }
  a.healthy = true;
  a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state());
  return a;
}

}  // namespace

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
    case v1::ProbeSpec::kUnit:
      a = UnitOnce(systemd_, spec.unit());
      break;
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
