// The coordinator's failover config: hosts, services and their order, probes, the global health
// check, defaults and policies. The types need no YAML and no gRPC (the planner links none);
// ParseConfig lives in config_parse.cc. Parsing is pure and records {env:}/{file:} references;
// ResolveConfigSecrets reads them. Errors are "file:line: field: what (fix)".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/secret_ref.h"
#include "failover/tls_files.h"
#include "failover/v1/agent.pb.h"

namespace failover::coordinator {

enum class Mode { kRolling, kStopAll };
enum class FailurePolicy { kAbort, kContinue, kRestore };

struct HostConfig {
  std::string name;
  std::string agent;               // agent address, host:port
  std::vector<std::string> units;  // units this host runs
};

struct ServiceConfig {
  std::string name;                   // e.g. "sls-api"
  std::string unit;                   // e.g. "sls-api.service"
  std::vector<v1::ProbeSpec> probes;  // gate, run on every host of the service after each step
  // Hosts that may fail before the service counts as failed: count, or percent when failure_percent.
  uint32_t max_failed_hosts = 0;
  bool failure_percent = false;
  // Settle window of this service's gate (defaults.healthy_for_ms when unset).
  std::optional<uint32_t> healthy_for_ms;
};

// A probe run on one host after the run (e.g. sls-monitor.timer guard).
struct GuardConfig {
  std::string host;
  v1::ProbeSpec probe;
};

// The seed's healthcheck.py: GET API_BASE + path with PANEL_TOKEN, from the coordinator.
struct HealthCheckConfig {
  bool enabled = false;
  ValueRef api_base;                 // as written: {env: API_BASE, default: ...} or a literal
  std::string path = "/health";
  std::optional<ValueRef> token_ref;  // {env: VAR} or {file: PATH}
  std::string url;         // resolved API_BASE + path
  std::string token;       // resolved secret value ("" = none); never logged
  uint32_t expect_status = 200;
  uint32_t timeout_ms = 2000;
  uint32_t deadline_ms = 10000;
  uint32_t interval_ms = 100;
  // During an executed run, the check is polled this often for the report's availability block.
  uint32_t availability_interval_ms = 100;
};

// Name under which the coordinator's own probe runner holds the health-check token.
inline constexpr char kHealthCheckSecret[] = "health_check_token";
// The global health check as a probe the coordinator runs itself (token by secret name only).
v1::ProbeSpec HealthCheckProbe(const HealthCheckConfig& hc);

struct Defaults {
  Mode mode = Mode::kRolling;
  FailurePolicy failure_policy = FailurePolicy::kAbort;
  uint32_t max_parallel = 1;
  uint32_t job_timeout_ms = 90000;
  uint32_t lease_ms = 120000;
  uint32_t call_timeout_ms = 5000;  // deadline of unary agent calls
  bool allow_reset_failed = false;
  // After a start's gate passes, the unit must stay up this long (no restart, probes still pass).
  uint32_t healthy_for_ms = 1000;
};

// Units a coordinator asks one agent about per GetState call; larger hosts are batched.
inline constexpr int kGetStateBatchUnits = 64;
// Limits checked at config time, so a run never meets them half-way: units per host (read in
// batches of kGetStateBatchUnits, kMaxGetStateBatches at most) and services per run.
inline constexpr int kMaxGetStateBatches = 16;
inline constexpr int kMaxUnitsPerHost = kGetStateBatchUnits * kMaxGetStateBatches;
inline constexpr int kMaxServicesPerConfig = 256;
// Longest settle window (defaults.healthy_for_ms, services[].healthy_for_ms).
inline constexpr uint32_t kMaxHealthyForMs = 10 * 60 * 1000;

struct Config {
  std::string path;
  Defaults defaults;
  std::vector<HostConfig> hosts;
  std::vector<ServiceConfig> services;        // every known service
  std::vector<std::string> default_order;     // the order used without --services
  std::vector<GuardConfig> guards;
  HealthCheckConfig health_check;
  TlsFiles tls;                                // coordinator's client certificate for agents
  bool insecure_plaintext = false;             // only for loopback agent addresses
  std::string reports_dir = "tmp_logs";

  const HostConfig* FindHost(const std::string& name) const;
  const ServiceConfig* FindService(const std::string& name) const;
};

// Who wrote the config. A config sent with a request (failoverctl -c) is not trusted with the
// coordinator's credentials: it may not read files or environment ({file:}, {env:}) nor set
// tls, insecure_plaintext, health_check or reports_dir; those come from the coordinator's own
// --config (see OverlayCoordinatorSettings).
enum class ConfigSource { kCoordinator, kRequest };

// Parses config text without reading files or the environment: references stay unresolved.
absl::StatusOr<Config> ParseConfigText(const std::string& yaml, const std::string& path,
                                       ConfigSource source = ConfigSource::kCoordinator);
// Reads the references ParseConfigText recorded (health_check.api_base and token) from `env` and
// files, registers the token for redaction and checks the resulting health-check URL.
absl::Status ResolveConfigSecrets(const std::map<std::string, std::string>& env, Config* config);
// ParseConfigText, then ResolveConfigSecrets. `env` resolves {env: VAR} (tests pass their own).
absl::StatusOr<Config> ParseConfig(const std::string& yaml, const std::string& path,
                                   const std::map<std::string, std::string>& env,
                                   ConfigSource source = ConfigSource::kCoordinator);
// Copies the coordinator-only settings (TLS, plaintext flag, health check, reports dir) from the
// coordinator's own config into a config that came with a request.
void OverlayCoordinatorSettings(const Config& own, Config* from_request);
// ParseConfig with the process environment.
absl::StatusOr<Config> ParseConfigWithProcessEnv(const std::string& yaml, const std::string& path,
                                                 ConfigSource source = ConfigSource::kCoordinator);

absl::StatusOr<Mode> ParseMode(const std::string& s);
absl::StatusOr<FailurePolicy> ParseFailurePolicy(const std::string& s);
std::string ModeName(Mode m);
std::string FailurePolicyName(FailurePolicy p);

}  // namespace failover::coordinator
