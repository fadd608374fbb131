// HTTP probes against a real HTTP server on loopback (started here): the retry loop, the
// deadline, the bearer secret kept out of results, the bound on a response body.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "common/probe_runner.h"
#include "failover/clock.h"
#include "failover/probe.h"
#include "gtest/gtest.h"
#include "tests/unit/fakes.h"

namespace failover {
namespace {

// A tiny HTTP/1.0 server: answers each request with the next status of `statuses` (the last one
// repeats), or never answers (hang), or with a body of `body_bytes`.
class LoopbackHttp {
 public:
  LoopbackHttp(std::vector<int> statuses, bool hang = false, size_t body_bytes = 2)
      : statuses_(std::move(statuses)), hang_(hang), body_bytes_(body_bytes) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 16);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~LoopbackHttp() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : held_) close(c);
  }
  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_, "/health"); }
  int requests() const { return requests_; }
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        last_ = req;
      }
      const int i = requests_++;
      if (hang_) {
        held_.push_back(c);
        continue;
      }
      const int status = statuses_[std::min<size_t>(static_cast<size_t>(i), statuses_.size() - 1)];
      std::string resp = absl::StrCat("HTTP/1.0 ", status, " X\r\nContent-Length: ", body_bytes_, "\r\n\r\n");
      resp.append(body_bytes_, 'x');
      for (size_t off = 0; off < resp.size();) {
        ssize_t n = write(c, resp.data() + off, resp.size() - off);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(c);
    }
  }
  std::vector<int> statuses_;
  bool hang_;
  size_t body_bytes_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::vector<int> held_;
  std::mutex mu_;
  std::string last_;
};

v1::ProbeSpec Http(const std::string& url, uint32_t timeout_ms, uint32_t deadline_ms, uint32_t interval_ms = 50) {
  v1::ProbeSpec p;
  p.set_name("health");
  p.set_timeout_ms(timeout_ms);
  p.set_deadline_ms(deadline_ms);
  p.set_interval_ms(interval_ms);
  p.mutable_http()->set_url(url);
  return p;
}

int64_t MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
}

TEST(HttpProbe, RetriesUntilTheEndpointIsHealthy) {
  LoopbackHttp server({503, 503, 200});
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  v1::ProbeResult r = runner.Run(Http(server.url(), 500, 5000));
  EXPECT_TRUE(r.healthy()) << r.detail();
  EXPECT_EQ(r.attempts(), 3u);
  EXPECT_EQ(r.detail(), "HTTP 200");
}

TEST(HttpProbe, GivesUpAtTheDeadlineNamingTheLastAnswer) {
  LoopbackHttp server({503});
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  const auto t0 = std::chrono::steady_clock::now();
  v1::ProbeResult r = runner.Run(Http(server.url(), 200, 600));
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.detail(), "HTTP 503 (expected 200)");
  EXPECT_GT(r.attempts(), 3u);
  EXPECT_LT(MsSince(t0), 600 + 200 + 300);
}

TEST(HttpProbe, NoAttemptStartsAfterTheDeadline) {
  LoopbackHttp server({200}, /*hang=*/true);
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  const auto t0 = std::chrono::steady_clock::now();
  v1::ProbeResult r = runner.Run(Http(server.url(), 300, 700));
  const int64_t took = MsSince(t0);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.detail(), "timeout after 300 ms");
  EXPECT_EQ(r.attempts(), 3u) << "attempts at 0, 300 and 600 ms; none at 900 ms, past the 700 ms deadline";
  // The last attempt may start just before the deadline and run its timeout: 900 ms here.
  EXPECT_LT(took, 700 + 300 + 150);
}

TEST(HttpProbe, TheBearerSecretReachesTheServerButNoResult) {
  const std::string token = "probe-secret-0123456789";
  RegisterSecret(token);
  LoopbackHttp server({401});
  LocalProbeRunner runner("api", {{"panel_token", token}}, nullptr, RealClock::Get());
  v1::ProbeSpec p = Http(server.url(), 300, 300);
  p.mutable_http()->set_bearer_secret("panel_token");
  v1::ProbeResult r = runner.Run(p);
  EXPECT_NE(server.last_request().find("Authorization: Bearer " + token), std::string::npos);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.DebugString().find(token), std::string::npos) << r.DebugString();
  EXPECT_EQ(Redact("token=" + token), "token=[REDACTED]");
}

TEST(HttpProbe, AnOversizedBodyIsCutOffNotRead) {
  LoopbackHttp server({200}, /*hang=*/false, /*body_bytes=*/4 << 20);  // 4 MiB, over the 1 MiB bound
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  v1::ProbeResult r = runner.Run(Http(server.url(), 2000, 2000, 5000));
  EXPECT_FALSE(r.healthy());
  EXPECT_NE(r.detail().find("Maximum file size exceeded"), std::string::npos) << r.detail();
}

// Answers every request with 200 and `body`, or (endless) a chunk of 'x' every few ms forever.
class BodyHttp {
 public:
  BodyHttp(std::string body, bool endless = false) : body_(std::move(body)), endless_(endless) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 16);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~BodyHttp() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string base() const { return absl::StrCat("http://127.0.0.1:", port_); }

 private:
  void Serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      char buf[4096];
      (void)!read(c, buf, sizeof(buf));
      std::string head = endless_ ? "HTTP/1.0 200 OK\r\n\r\n"
                                  : absl::StrCat("HTTP/1.0 200 OK\r\nContent-Length: ", body_.size(), "\r\n\r\n", body_);
      (void)!write(c, head.data(), head.size());
      const std::string chunk(4096, 'x');
      while (endless_ && !stop_ && send(c, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      close(c);
    }
  }
  std::string body_;
  bool endless_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

TEST(HttpProbe, ADegradedStatusInAHealthyAnswerFailsNamingTheUrlAndTheField) {
  BodyHttp server(R"({"status":"degraded"})");
  v1::ProbeSpec p = Http(server.base() + "/health", 1000, 1000);
  p.mutable_http()->set_json_field("status");
  p.mutable_http()->set_json_equals("ok");
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  v1::ProbeResult r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.detail(), server.base() + "/health: json field status is \"degraded\", want \"ok\"");
}

TEST(HttpProbe, AnEndlessBodyFailsAtTheBoundLongBeforeTheTimeout) {
  BodyHttp server("", /*endless=*/true);
  v1::ProbeSpec p = Http(server.base() + "/health", 5000, 5000);
  p.mutable_http()->set_body_contains("ok");
  p.mutable_http()->set_max_body_bytes(100000);
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get());
  const auto t0 = std::chrono::steady_clock::now();
  v1::ProbeResult r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_LT(r.latency_us(), 2'000'000) << "each attempt stops at the bound, not at the 5 s timeout";
  EXPECT_LT(MsSince(t0), 6000) << "retries end at the deadline";
  EXPECT_NE(r.detail().find("longer than the 100000-byte bound (max_body_bytes)"), std::string::npos) << r.detail();
}

TEST(PrometheusProbe, AFiringAlertFailsAndAnUnreachableServerIsNamed) {
  BodyHttp server(R"({"status":"success","data":{"alerts":[{"labels":{"alertname":"SlsDown","instance":"api"},"state":"firing"}]}})");
  v1::ProbeSpec p;
  p.set_name("alerts");
  p.set_timeout_ms(500);
  p.mutable_prometheus()->set_url(server.base());
  p.mutable_prometheus()->set_alert("SlsDown");
  LocalProbeRunner runner("coordinator", {}, nullptr, RealClock::Get());
  v1::ProbeResult r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.kind(), "prometheus");
  EXPECT_NE(r.detail().find("1 matching alert(s) firing: {alertname=\"SlsDown\",instance=\"api\"}"), std::string::npos)
      << r.detail();
  p.mutable_prometheus()->set_url("http://127.0.0.1:1");
  r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_NE(r.detail().find("prometheus http://127.0.0.1:1: "), std::string::npos) << r.detail();
}

class FakeRestic : public ResticSource {
 public:
  absl::StatusOr<std::string> answer = std::string("[]");
  absl::StatusOr<std::string> LatestSnapshotsJson(const v1::ResticProbe&, uint32_t) override { return answer; }
};

class FakeFailures : public UnitFailureLog {
 public:
  std::vector<UnitFailure> failures;
  int64_t asked_since = -1;
  absl::StatusOr<std::vector<UnitFailure>> FailuresSince(const std::string&, int64_t since, size_t) override {
    asked_since = since;
    return failures;
  }
};

TEST(ResticProbe, TheRunnerNamesTheRepositoryAndResticsComplaint) {
  FakeRestic restic;
  restic.answer = absl::FailedPreconditionError("restic failed (exit status 1): Fatal: wrong password or no key found");
  v1::ProbeSpec p;
  p.set_name("backup");
  p.set_timeout_ms(500);
  p.mutable_restic()->set_repository("backups");
  p.mutable_restic()->set_max_age_ms(1000);
  LocalProbeRunner runner("api", {}, nullptr, RealClock::Get(), {nullptr, &restic});
  v1::ProbeResult r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(r.detail(), "restic repository \"backups\": restic failed (exit status 1): Fatal: wrong password or no key found");
  LocalProbeRunner coordinator("coordinator", {}, nullptr, RealClock::Get());
  EXPECT_NE(coordinator.Run(p).detail().find("restic probes run on agents only"), std::string::npos);
}


TEST(UnitProbe, AFailureSinceTheRunBeganFailsEvenWhenTheLastResultIsSuccess) {
  testing::FakeSystemd systemd;
  systemd.AddUnit("sls-monitor.timer");
  systemd.AddUnit("sls-monitor.service", "inactive");
  FakeFailures failures;
  failures.failures = {{1'800'000'000'000'000 + 5'000'000, "exit-code"}};
  v1::ProbeSpec p;
  p.set_name("monitor-guard");
  p.set_timeout_ms(500);
  p.mutable_unit()->set_unit("sls-monitor.timer");
  p.mutable_unit()->set_result_unit("sls-monitor.service");
  p.mutable_unit()->set_no_failure_since_unix_us(1'800'000'000'000'000);
  LocalProbeRunner runner("panel", {}, &systemd, RealClock::Get(), {&failures, nullptr});
  v1::ProbeResult r = runner.Run(p);
  EXPECT_FALSE(r.healthy());
  EXPECT_EQ(failures.asked_since, 1'800'000'000'000'000);
  EXPECT_EQ(r.detail(), "sls-monitor.service failed since 2027-01-15T08:00:00Z: at 2027-01-15T08:00:05Z (exit-code)");
  failures.failures.clear();
  r = runner.Run(p);
  EXPECT_TRUE(r.healthy()) << r.detail();
  EXPECT_NE(r.detail().find("no failure of sls-monitor.service since 2027-01-15T08:00:00Z"), std::string::npos);
}

}  // namespace
}  // namespace failover
