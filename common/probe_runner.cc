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
#include "absl/time/time.h"
#include "failover/logging.h"
#include "failover/probe_checks.h"

namespace failover {
namespace {

std::string UtcText(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

// Body sink: keeps (or only counts) up to `limit` bytes; one byte more aborts the transfer.
struct BodySink {
  std::string* body = nullptr;  // null: count only
  size_t limit = 0;
  size_t seen = 0;
  bool over = false;
};

size_t SinkBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  const size_t n = size * nmemb;
  if (sink->seen + n > sink->limit) {
    sink->over = true;
    return 0;  // CURLE_WRITE_ERROR: stop reading now
  }
  sink->seen += n;
  if (sink->body != nullptr) sink->body->append(data, n);
  return n;
}

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

// One GET of an HTTP probe: status, then the body assertions (if any).
HttpAttempt HttpCheckOnce(const v1::HttpProbe& h, const std::string& token, uint32_t timeout_ms) {
  HttpAttempt out;
  const bool body = HasBodyAssertion(h);
  HttpFetch f = HttpFetchOnce(h.url(), token, timeout_ms, body ? BodyLimit(h) : kMaxBodyBytes, body);
  out.latency_us = f.latency_us;
  const uint32_t want = h.expect_status() == 0 ? 200 : h.expect_status();
  if (!f.ok) {
    out.detail = f.error;
  } else if (f.status != static_cast<long>(want)) {
    out.detail = absl::StrCat("HTTP ", f.status, " (expected ", want, ")");
  } else if (body) {
    ProbeVerdict v = CheckHttpBody(h, f.body);
    out.healthy = v.healthy;
    out.detail = v.healthy ? absl::StrCat("HTTP ", f.status, ", ", v.detail) : absl::StrCat(h.url().substr(0, 200), ": ", v.detail);
  } else {
    out.healthy = true;
    out.detail = absl::StrCat("HTTP ", f.status);
  }
  if (!f.ok && body) out.detail = absl::StrCat(h.url().substr(0, 200), ": ", out.detail);
  return out;
}

// One look at Prometheus: its alerts (or a query), judged by EvaluatePrometheusAnswer.
HttpAttempt PrometheusOnce(const v1::PrometheusProbe& p, uint32_t timeout_ms) {
  HttpAttempt out;
  std::string base = p.url();
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string url = base + PrometheusRequestPath(p);
  HttpFetch f = HttpFetchOnce(url, "", timeout_ms, kMaxAnswerBytes, true);
  out.latency_us = f.latency_us;
  const std::string target = absl::StrCat("prometheus ", base.substr(0, 200));
  if (!f.ok) {
    out.detail = absl::StrCat(target, ": ", f.error);
  } else if (f.status != 200) {
    ProbeVerdict v = EvaluatePrometheusAnswer(p, f.body);  // names Prometheus's own error if JSON
    out.detail = absl::StrCat(target, ": HTTP ", f.status, " (expected 200); ", v.detail);
  } else {
    ProbeVerdict v = EvaluatePrometheusAnswer(p, f.body);
    out.healthy = v.healthy;
    out.detail = absl::StrCat(target, ": ", v.detail);
  }
  return out;
}

}  // namespace

HttpFetch HttpFetchOnce(const std::string& url, const std::string& bearer_token, uint32_t timeout_ms,
                        uint32_t max_body, bool keep_body) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  HttpFetch out;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.error = "libcurl init failed";
    return out;
  }
  curl_slist* headers = nullptr;
  if (!bearer_token.empty())
    headers = curl_slist_append(headers, ("Authorization: Bearer " + bearer_token).c_str());
  BodySink sink{keep_body ? &out.body : nullptr, max_body};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE, static_cast<long>(max_body));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, SinkBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");  // never route a probe through an ambient proxy
  const auto t0 = std::chrono::steady_clock::now();
  CURLcode rc = curl_easy_perform(curl);
  out.latency_us = MicrosSince(t0, std::chrono::steady_clock::now());
  if (rc == CURLE_OK) {
    out.ok = true;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
  } else if (rc == CURLE_OPERATION_TIMEDOUT) {
    out.error = absl::StrCat("timeout after ", timeout_ms, " ms");
  } else if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
    out.error = absl::StrCat(rc == CURLE_FILESIZE_EXCEEDED ? "Maximum file size exceeded: " : "",
                             "the body is longer than the ", max_body, "-byte bound (max_body_bytes)");
  } else {
    out.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  return out;
}

HttpAttempt HttpGetOnce(const std::string& url, uint32_t expect_status, const std::string& bearer_token,
                        uint32_t timeout_ms) {
  v1::HttpProbe h;
  h.set_url(url);
  h.set_expect_status(expect_status);
  return HttpCheckOnce(h, bearer_token, timeout_ms);
}

HttpAttempt LocalProbeRunner::HttpOnce(const v1::ProbeSpec& spec) {
  std::string token;
  if (!spec.http().bearer_secret().empty()) {
    auto it = secrets_.find(spec.http().bearer_secret());
    if (it == secrets_.end()) {
      HttpAttempt a;
      a.detail = absl::StrCat("secret \"", spec.http().bearer_secret(), "\" is not defined in the agent config");
      return a;
    }
    token = it->second;
  }
  return HttpCheckOnce(spec.http(), token, spec.timeout_ms());
}

// One look at a unit (and its result unit): healthy when in the expected state, the result unit's
// last Result is success, and (no_failure_since_unix_us) the journal shows no failure since then.
HttpAttempt LocalProbeRunner::UnitOnce(const v1::UnitProbe& u) {
  HttpAttempt a;
  if (systemd_ == nullptr) {
    a.detail = "unit probes are not available";
    return a;
  }
  const std::string want = u.expect_active_state().empty() ? "active" : u.expect_active_state();
  auto st = systemd_->GetUnitState(u.unit());
  if (!st.ok()) {
    a.detail = std::string(st.status().message());
    return a;
  }
  if (st->active_state() != want) {
    a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state(), " (expected ", want, ")");
    return a;
  }
  if (!u.result_unit().empty()) {
    auto rs = systemd_->GetUnitState(u.result_unit());
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
    if (u.no_failure_since_unix_us() > 0 && !NoFailureSince(u, &a.detail)) return a;
  }
  a.healthy = true;
  a.detail = absl::StrCat(u.unit(), " is ", st->active_state(), "/", st->sub_state(),
                          u.no_failure_since_unix_us() > 0 ? absl::StrCat(", no failure of ", u.result_unit(), " since ",
                                                                         UtcText(u.no_failure_since_unix_us()))
                                                           : "");
  return a;
}

bool LocalProbeRunner::NoFailureSince(const v1::UnitProbe& u, std::string* why) {
  if (sources_.failures == nullptr) {
    *why = "unit failure history (no_failure_since) is read on agents only";
    return false;
  }
  auto f = sources_.failures->FailuresSince(u.result_unit(), u.no_failure_since_unix_us(), 5);
  if (!f.ok()) {
    *why = absl::StrCat("cannot read the failures of ", u.result_unit(), ": ", f.status().message());
    return false;
  }
  if (f->empty()) return true;
  std::string times;
  for (const auto& x : *f) absl::StrAppend(&times, times.empty() ? "" : ", ", UtcText(x.at_unix_us), " (", x.result, ")");
  *why = absl::StrCat(u.result_unit(), " failed since ", UtcText(u.no_failure_since_unix_us()), ": at ", times,
                      f->size() >= 5 ? " and maybe more" : "");
  return false;
}

HttpAttempt LocalProbeRunner::ResticOnce(const v1::ProbeSpec& spec) {
  HttpAttempt a;
  const auto& r = spec.restic();
  if (sources_.restic == nullptr) {
    a.detail = absl::StrCat("restic repository \"", r.repository(), "\": restic probes run on agents only");
    return a;
  }
  auto out = sources_.restic->LatestSnapshotsJson(r, spec.timeout_ms());
  if (!out.ok()) {
    a.detail = absl::StrCat("restic repository \"", r.repository(), "\": ", out.status().message());
    return a;
  }
  ProbeVerdict v = EvaluateResticSnapshots(r, *out, clock_->NowUnixUs());
  a.healthy = v.healthy;
  a.detail = absl::StrCat("restic repository \"", r.repository(), "\": ", v.detail);
  return a;
}

HttpAttempt LocalProbeRunner::Once(const v1::ProbeSpec& spec) {
  HttpAttempt a;
  const auto t0 = clock_->Now();
  switch (spec.kind_case()) {
    case v1::ProbeSpec::kHttp:
      return HttpOnce(spec);
    case v1::ProbeSpec::kPrometheus:
      return PrometheusOnce(spec.prometheus(), spec.timeout_ms());
    case v1::ProbeSpec::kTcp: {
      std::string err = TcpConnectOnce(spec.tcp().host(), spec.tcp().port(), spec.timeout_ms());
      a.healthy = err.empty();
      a.detail = a.healthy ? "connected" : err;
      break;
    }
    case v1::ProbeSpec::kUnit:
      a = UnitOnce(spec.unit());
      break;
    case v1::ProbeSpec::kRestic:
      a = ResticOnce(spec);
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
    case v1::ProbeSpec::kPrometheus: r.set_kind("prometheus"); r.set_target(spec.prometheus().url()); break;
    case v1::ProbeSpec::kRestic: r.set_kind("restic"); r.set_target(spec.restic().repository()); break;
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
