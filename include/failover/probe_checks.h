// Pure verdicts for the probe kinds that read an answer: HTTP body assertions, a Prometheus
// alerts/query answer, restic's snapshot list. No I/O: the runner fetches, these decide.
#pragma once

#include <cstdint>
#include <string>

#include "failover/v1/agent.pb.h"

namespace failover {

// Default and largest body an HTTP probe reads when it asserts on the body.
inline constexpr uint32_t kDefaultMaxBodyBytes = 64 * 1024;
inline constexpr uint32_t kMaxBodyBytes = 1024 * 1024;
// Largest Prometheus answer / restic output read.
inline constexpr uint32_t kMaxAnswerBytes = 1024 * 1024;

struct ProbeVerdict {
  bool healthy = false;
  std::string detail;
};

// True when the probe asserts on the body (body_contains or json_field set).
bool HasBodyAssertion(const v1::HttpProbe& h);
// max_body_bytes with its default applied.
uint32_t BodyLimit(const v1::HttpProbe& h);
// Checks `body` against body_contains and json_field/json_equals. Unhealthy detail names why,
// e.g. `json field status is "degraded", want "ok"`.
ProbeVerdict CheckHttpBody(const v1::HttpProbe& h, const std::string& body);

// The path and query of the Prometheus request: /api/v1/alerts, or /api/v1/query?query=<escaped>.
std::string PrometheusRequestPath(const v1::PrometheusProbe& p);
// Decides a Prometheus answer: healthy when status is success and no matching alert fires
// (pending ones only with include_pending), or the query's vector is empty. The detail names the
// firing alerts / series (name + labels, at most 5) or why the answer is unusable.
ProbeVerdict EvaluatePrometheusAnswer(const v1::PrometheusProbe& p, const std::string& body);

// Decides restic's `snapshots --json` output: healthy when the latest snapshot's time is within
// max_age_ms of now_unix_us. Unhealthy: "no snapshot", or "latest snapshot T is 9d old, max 1d".
ProbeVerdict EvaluateResticSnapshots(const v1::ResticProbe& p, const std::string& json, int64_t now_unix_us);

// "850ms", "12s", "5m", "3h", "9d": the largest whole unit.
std::string ShortDuration(int64_t ms);

}  // namespace failover
