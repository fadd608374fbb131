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
#include "coordinator/api_base_policy.h"
#include "coordinator/maintenance_window.h"
#include "coordinator/notify_config.h"
#include "coordinator/publish_config.h"
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
  // Availability budget: instances that must stay healthy while others restart (0 = no budget);
  // a percent of the service's instances, rounded up, when min_healthy_percent.
  uint32_t min_healthy = 0;
  bool min_healthy_percent = false;
  // How long a step waits for the budget before it fails (unset: the longest gate probe deadline).
  std::optional<uint32_t> min_healthy_wait_ms;
};

// A probe run on one host after the run (e.g. sls-monitor.timer guard).
struct GuardConfig {
  std::string host;
  v1::ProbeSpec probe;
};

// A named check of the system (the runbook's checklist): its probe runs on the coordinator
// (`on: coordinator`) or on a host's agent (`on: HOST`, through the Probe RPC). `gates:` are
// evaluated before the first step and after the last; `stop_conditions:` are watched while the
// run executes. health_check and guards are gates too (see PlanGates in gate_plan.h).
struct GateConfig {
  std::string name;
  std::string on;  // kGateOnCoordinator or a host name
  v1::ProbeSpec probe;
};
inline constexpr char kGateOnCoordinator[] = "coordinator";
// Name of the gate made from health_check.
inline constexpr char kHealthCheckGate[] = "health-check";
// Bounds of defaults.stop_condition_interval_ms (how often the watcher checks stop conditions).
inline constexpr uint32_t kMinStopIntervalMs = 100;
inline constexpr uint32_t kMaxStopIntervalMs = 60000;

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
  // URL prefixes under which a caller (failoverctl --api-base) may name its own API_BASE for a run.
  std::vector<ApiBasePrefix> allowed_api_bases;
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
  // An executed run refuses to start while a pre-flight gate fails (failoverctl --require-healthy).
  bool require_healthy = false;
  // How often the background watcher checks the stop conditions during a run.
  uint32_t stop_condition_interval_ms = 500;
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
  std::vector<GateConfig> gates;            // checked before and after a run
  std::vector<GateConfig> stop_conditions;  // watched during an executed run
  HealthCheckConfig health_check;
  TlsFiles tls;                                // coordinator's client certificate for agents
  bool insecure_plaintext = false;             // only for loopback agent addresses
  std::string reports_dir = "tmp_logs";
  // When executed runs may act (empty = any time) and what a run does when its window ends;
  // webhooks told about runs. Coordinator-only (refused in a request's config).
  std::vector<MaintenanceWindow> windows;
  WindowEndPolicy on_window_end = WindowEndPolicy::kStop;
  std::vector<NotificationConfig> notifications;
  // Where `failoverctl report RUN --publish NAME` sends a report. Coordinator-only.
  std::vector<PublishDestination> publish;

  const HostConfig* FindHost(const std::string& name) const;
  const ServiceConfig* FindService(const std::string& name) const;
};

// Who wrote the config. A config sent with a request (failoverctl -c) is not trusted with the
// coordinator's credentials: it may not read files or environment ({file:}, {env:}) nor set
// tls, insecure_plaintext, health_check or reports_dir, nor declare gates or stop conditions
// `on: coordinator` (the coordinator would fetch URLs of the caller's choosing); those come from
// the coordinator's own --config (see OverlayCoordinatorSettings).
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
// Copies the coordinator-only settings (TLS, plaintext flag, health check, reports dir, gates and
// stop conditions `on: coordinator`) from the coordinator's own config into a config that came
// with a request.
void OverlayCoordinatorSettings(const Config& own, Config* from_request);
// The caller's API_BASE and token (failoverctl --api-base, PANEL_TOKEN) for this request's global
// health check. Empty `api_base`: the coordinator's own stays (a token alone is INVALID_ARGUMENT).
// Otherwise api_base must fall under health_check.allowed_api_bases (PERMISSION_DENIED naming it
// and the list); the coordinator's own token is dropped, never sent there: the caller's token, or
// none, goes with it. The caller's token is registered for redaction.
absl::Status ApplyCallerApiBase(const std::string& api_base, const std::string& token, Config* config);
// ParseConfig with the process environment.
absl::StatusOr<Config> ParseConfigWithProcessEnv(const std::string& yaml, const std::string& path,
                                                 ConfigSource source = ConfigSource::kCoordinator);

absl::StatusOr<Mode> ParseMode(const std::string& s);
absl::StatusOr<FailurePolicy> ParseFailurePolicy(const std::string& s);
std::string ModeName(Mode m);
std::string FailurePolicyName(FailurePolicy p);

}  // namespace failover::coordinator
