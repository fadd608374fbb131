// YAML -> Config, one function per section. Pure: {env:}/{file:} references are recorded, not
// read (ResolveConfigSecrets does that). Errors: "file:line: field: what (fix)".
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "coordinator/api_base_policy.h"
#include "coordinator/config.h"
#include "coordinator/publish_config_parse.h"
#include "coordinator/schedule_config_parse.h"
#include "failover/logging.h"
#include "failover/probe_spec.h"
#include "failover/probe_yaml.h"
#include "failover/unit_name.h"
#include "failover/yaml_config.h"

namespace failover::coordinator {
namespace {

constexpr uint32_t kMaxMs = 24u * 60 * 60 * 1000;
constexpr uint32_t kMaxJobTimeoutMs = 15u * 60 * 1000;  // same limit as the agent's
constexpr char kNotInRequest[] =
    "not allowed in a config sent with a request: it comes from the coordinator's own --config";

// Host and service names end up in step ids and unit-like names the agents check.
absl::Status CheckPlainName(const YamlFields& f, const YAML::Node& n, const std::string& field,
                            const std::string& name, const char* what) {
  const bool ok = ValidateUnitName(name + ".service").ok() && name.find_first_of("@\\") == std::string::npos;
  if (ok) return absl::OkStatus();
  return f.Err(n, field, absl::StrCat(what, " names may hold only letters, digits, '-', '_', '.', ':' (got \"",
                                      name.substr(0, 80), "\")"));
}

absl::Status ParseProbeTimes(const YamlFields& f, const YAML::Node& n, const std::string& field, v1::ProbeSpec* p) {
  p->set_timeout_ms(2000);
  p->set_deadline_ms(15000);
  p->set_interval_ms(20);
  for (const char* k : {"timeout_ms", "deadline_ms", "interval_ms"}) {
    if (!n[k]) continue;
    auto v = f.Ms(n[k], field + "." + k, kMaxMs);
    if (!v.ok()) return v.status();
    if (std::string(k) == "timeout_ms") p->set_timeout_ms(*v);
    if (std::string(k) == "deadline_ms") p->set_deadline_ms(*v);
    if (std::string(k) == "interval_ms") p->set_interval_ms(*v);
  }
  return absl::OkStatus();
}

absl::Status ParseHttpProbe(const YamlFields& f, const YAML::Node& h, const std::string& field, v1::HttpProbe* out) {
  std::set<std::string> keys = HttpBodyKeys();
  keys.insert({"url", "expect_status", "bearer_secret"});
  if (absl::Status s = f.CheckKeys(h, field, keys); !s.ok()) return s;
  if (!h["url"]) return f.Err(h, field + ".url", "missing");
  auto url = f.String(h["url"], field + ".url");
  if (!url.ok()) return url.status();
  out->set_url(*url);
  if (h["expect_status"]) {
    auto st = f.Count(h["expect_status"], field + ".expect_status", 100, 599);
    if (!st.ok()) return st.status();
    out->set_expect_status(*st);
  }
  if (h["bearer_secret"]) out->set_bearer_secret(h["bearer_secret"].as<std::string>());
  return ParseHttpBodyFields(f, h, field, out);
}

absl::Status ParseTcpProbe(const YamlFields& f, const YAML::Node& t, const std::string& field, v1::TcpProbe* out) {
  if (absl::Status s = f.CheckKeys(t, field, {"host", "port"}); !s.ok()) return s;
  if (!t["host"] || !t["port"]) return f.Err(t, field, "needs host and port");
  out->set_host(t["host"].as<std::string>());
  auto port = f.Count(t["port"], field + ".port", 1, 65535);
  if (!port.ok()) return port.status();
  out->set_port(*port);
  return absl::OkStatus();
}

absl::Status ParseUnitProbe(const YamlFields& f, const YAML::Node& u, const std::string& field, v1::UnitProbe* out) {
  if (absl::Status s = f.CheckKeys(u, field, {"unit", "expect_active_state", "result_unit"}); !s.ok()) return s;
  if (!u["unit"]) return f.Err(u, field + ".unit", "missing");
  out->set_unit(u["unit"].as<std::string>());
  if (u["expect_active_state"]) out->set_expect_active_state(u["expect_active_state"].as<std::string>());
  if (u["result_unit"]) out->set_result_unit(u["result_unit"].as<std::string>());
  return absl::OkStatus();
}

absl::StatusOr<v1::ProbeSpec> ParseProbe(const YamlFields& f, const YAML::Node& n, const std::string& field) {
  if (absl::Status s =
          f.CheckKeys(n, field, {"name", "http", "tcp", "unit", "prometheus", "restic", "timeout_ms", "deadline_ms",
                                 "interval_ms"});
      !s.ok())
    return s;
  v1::ProbeSpec p;
  if (!n["name"]) return f.Err(n, field + ".name", "missing");
  auto name = f.String(n["name"], field + ".name");
  if (!name.ok()) return name.status();
  p.set_name(*name);
  if (absl::Status s = ParseProbeTimes(f, n, field, &p); !s.ok()) return s;
  const int kinds = (n["http"] ? 1 : 0) + (n["tcp"] ? 1 : 0) + (n["unit"] ? 1 : 0) + (n["prometheus"] ? 1 : 0) +
                    (n["restic"] ? 1 : 0);
  if (kinds != 1) return f.Err(n, field, "needs exactly one of http, tcp, unit, prometheus, restic");
  absl::Status s = n["http"]         ? ParseHttpProbe(f, n["http"], field + ".http", p.mutable_http())
                   : n["tcp"]        ? ParseTcpProbe(f, n["tcp"], field + ".tcp", p.mutable_tcp())
                   : n["prometheus"] ? ParsePrometheusProbe(f, n["prometheus"], field + ".prometheus", p.mutable_prometheus())
                   : n["restic"]     ? ParseResticProbe(f, n["restic"], field + ".restic", p.mutable_restic())
                                     : ParseUnitProbe(f, n["unit"], field + ".unit", p.mutable_unit());
  if (!s.ok()) return s;
  if (p.deadline_ms() < p.timeout_ms()) return f.Err(n, field + ".deadline_ms", "must be at least timeout_ms");
  if (absl::Status v = ValidateProbeSpec(p); !v.ok()) return f.Err(n, field, std::string(v.message()));
  return p;
}

absl::Status ParseDefaultValues(const YamlFields& f, const YAML::Node& n, Defaults* d) {
  if (n["mode"]) {
    auto m = ParseMode(n["mode"].as<std::string>());
    if (!m.ok()) return f.Err(n["mode"], "defaults.mode", std::string(m.status().message()));
    d->mode = *m;
  }
  if (n["failure_policy"]) {
    auto p = ParseFailurePolicy(n["failure_policy"].as<std::string>());
    if (!p.ok()) return f.Err(n["failure_policy"], "defaults.failure_policy", std::string(p.status().message()));
    d->failure_policy = *p;
  }
  if (n["max_parallel"]) {
    auto v = f.Count(n["max_parallel"], "defaults.max_parallel", 1, 1000);
    if (!v.ok()) return v.status();
    d->max_parallel = *v;
  }
  for (auto [key, dst] : std::initializer_list<std::pair<const char*, uint32_t*>>{
           {"job_timeout_ms", &d->job_timeout_ms}, {"lease_ms", &d->lease_ms}, {"call_timeout_ms", &d->call_timeout_ms},
           {"healthy_for_ms", &d->healthy_for_ms}}) {
    if (!n[key]) continue;
    auto v = f.Ms(n[key], std::string("defaults.") + key,
                  std::string(key) == "healthy_for_ms" ? kMaxHealthyForMs : kMaxMs);
    if (!v.ok()) return v.status();
    *dst = *v;
  }
  if (n["allow_reset_failed"]) {
    auto v = f.Bool(n["allow_reset_failed"], "defaults.allow_reset_failed");
    if (!v.ok()) return v.status();
    d->allow_reset_failed = *v;
  }
  return absl::OkStatus();
}

absl::Status ParseGateDefaults(const YamlFields& f, const YAML::Node& n, Defaults* d) {
  if (n["require_healthy"]) {
    auto v = f.Bool(n["require_healthy"], "defaults.require_healthy");
    if (!v.ok()) return v.status();
    d->require_healthy = *v;
  }
  if (!n["stop_condition_interval_ms"]) return absl::OkStatus();
  const YAML::Node& i = n["stop_condition_interval_ms"];
  auto v = f.Ms(i, "defaults.stop_condition_interval_ms", kMaxStopIntervalMs);
  if (!v.ok()) return v.status();
  if (*v < kMinStopIntervalMs)
    return f.Err(i, "defaults.stop_condition_interval_ms", absl::StrCat("must be at least ", kMinStopIntervalMs, " ms"));
  d->stop_condition_interval_ms = *v;
  return absl::OkStatus();
}

absl::Status ParseDefaults(const YamlFields& f, const YAML::Node& n, Defaults* d) {
  if (absl::Status s = f.CheckKeys(n, "defaults", {"mode", "failure_policy", "max_parallel", "job_timeout_ms",
                                                   "lease_ms", "call_timeout_ms", "allow_reset_failed",
                                                   "healthy_for_ms", "require_healthy", "stop_condition_interval_ms"});
      !s.ok())
    return s;
  if (absl::Status s = ParseDefaultValues(f, n, d); !s.ok()) return s;
  if (absl::Status s = ParseGateDefaults(f, n, d); !s.ok()) return s;
  // The agents refuse longer jobs; say so here, before anything runs.
  if (d->job_timeout_ms > kMaxJobTimeoutMs)
    return f.Err(n["job_timeout_ms"], "defaults.job_timeout_ms",
                 absl::StrCat("must be at most ", kMaxJobTimeoutMs, " (15 min)"));
  // A lease shorter than a stop+start would expire under a healthy step.
  if (d->lease_ms < 2 * d->job_timeout_ms && n["lease_ms"])
    return f.Err(n["lease_ms"], "defaults.lease_ms",
                 absl::StrCat("must be at least twice job_timeout_ms (", 2 * d->job_timeout_ms,
                              " ms) so a healthy stop+start never outlives it"));
  if (d->lease_ms < 2 * d->job_timeout_ms) d->lease_ms = 2 * d->job_timeout_ms;
  // Renewals happen every lease/3 and may each take a call timeout: keep them inside the lease.
  if (d->lease_ms < 3 * d->call_timeout_ms)
    return f.Err(n["lease_ms"] ? n["lease_ms"] : n, "defaults.lease_ms",
                 absl::StrCat("must be at least 3 x call_timeout_ms (", 3 * d->call_timeout_ms, " ms)"));
  return absl::OkStatus();
}

absl::StatusOr<HostConfig> ParseHost(const YamlFields& f, const YAML::Node& key, const YAML::Node& n) {
  HostConfig h;
  h.name = key.as<std::string>();
  const std::string field = "hosts." + h.name;
  if (absl::Status s = CheckPlainName(f, key, field, h.name, "host"); !s.ok()) return s;
  if (absl::Status s = f.CheckKeys(n, field, {"agent", "units"}); !s.ok()) return s;
  if (!n["agent"]) return f.Err(n, field + ".agent", "missing (host:port of the agent)");
  auto agent = f.String(n["agent"], field + ".agent");
  if (!agent.ok()) return agent.status();
  h.agent = *agent;
  if (h.agent.find(':') == std::string::npos) return f.Err(n["agent"], field + ".agent", "must be host:port");
  if (!n["units"] || !n["units"].IsSequence())
    return f.Err(n, field + ".units", "missing: list the units this host runs");
  for (const auto& u : n["units"]) {
    const std::string unit = u.as<std::string>();
    if (absl::Status s = ValidateUnitName(unit); !s.ok()) return f.Err(u, field + ".units", std::string(s.message()));
    h.units.push_back(unit);
    if (h.units.size() > static_cast<size_t>(kMaxUnitsPerHost))
      return f.Err(u, field + ".units",
                   absl::StrCat("more than ", kMaxUnitsPerHost, " units on one host (", kMaxGetStateBatches,
                                " state reads of ", kGetStateBatchUnits, "); split the host's units"));
  }
  return h;
}

absl::Status ParseHosts(const YamlFields& f, const YAML::Node& root, Config* cfg) {
  const YAML::Node hosts = root["hosts"];
  if (!hosts || !hosts.IsMap() || hosts.size() == 0)
    return f.Err(hosts ? hosts : root, "hosts", "missing: map each host name to {agent, units}");
  for (const auto& kv : hosts) {
    auto h = ParseHost(f, kv.first, kv.second);
    if (!h.ok()) return h.status();
    if (cfg->FindHost(h->name)) return f.Err(kv.first, "hosts." + h->name, "duplicate host");
    cfg->hosts.push_back(std::move(*h));
  }
  return absl::OkStatus();
}

absl::Status ParseMaxFailedHosts(const YamlFields& f, const YAML::Node& m, const std::string& field,
                                 ServiceConfig* svc) {
  std::string s = m.Scalar();
  if (!absl::EndsWith(s, "%")) {
    auto v = f.Count(m, field, 0, 10000);
    if (!v.ok()) return v.status();
    svc->max_failed_hosts = *v;
    return absl::OkStatus();
  }
  svc->failure_percent = true;
  s.pop_back();
  auto v = f.Count(YAML::Node(s), field, 0, 100);
  if (!v.ok()) return f.Err(m, field, "percent must be 0..100%");
  svc->max_failed_hosts = *v;
  return absl::OkStatus();
}

// services[].min_healthy: a count, or "N%" of the service's instances (rounded up).
absl::Status ParseMinHealthy(const YamlFields& f, const YAML::Node& m, const std::string& field, ServiceConfig* svc) {
  std::string s = m.Scalar();
  if (!absl::EndsWith(s, "%")) {
    auto v = f.Count(m, field, 0, 10000);
    if (!v.ok()) return v.status();
    svc->min_healthy = *v;
    return absl::OkStatus();
  }
  s.pop_back();
  auto v = f.Count(YAML::Node(s), field, 0, 100);
  if (!v.ok()) return f.Err(m, field, "percent must be 0..100%");
  svc->min_healthy = *v;
  svc->min_healthy_percent = true;
  return absl::OkStatus();
}

absl::Status ParseServiceProbes(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                ServiceConfig* svc) {
  if (!n.IsSequence()) return f.Err(n, field, "must be a list");
  for (size_t j = 0; j < n.size(); ++j) {
    auto p = ParseProbe(f, n[j], absl::StrCat(field, "[", j, "]"));
    if (!p.ok()) return p.status();
    svc->probes.push_back(*p);
  }
  return absl::OkStatus();
}

absl::StatusOr<ServiceConfig> ParseService(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                           const Config& cfg) {
  if (absl::Status s = f.CheckKeys(n, field, {"name", "unit", "probes", "max_failed_hosts", "healthy_for_ms",
                                              "min_healthy", "min_healthy_wait_ms"});
      !s.ok())
    return s;
  ServiceConfig svc;
  if (!n["name"]) return f.Err(n, field + ".name", "missing");
  auto name = f.String(n["name"], field + ".name");
  if (!name.ok()) return name.status();
  svc.name = *name;
  if (absl::Status s = CheckPlainName(f, n["name"], field + ".name", svc.name, "service"); !s.ok()) return s;
  svc.unit = n["unit"] ? n["unit"].as<std::string>() : svc.name + ".service";
  if (absl::Status s = ValidateUnitName(svc.unit); !s.ok())
    return f.Err(n["unit"] ? n["unit"] : n, field + ".unit", std::string(s.message()));
  if (cfg.FindService(svc.name)) return f.Err(n["name"], field + ".name", "duplicate service \"" + svc.name + "\"");
  bool on_some_host = false;
  for (const auto& h : cfg.hosts)
    for (const auto& u : h.units) on_some_host = on_some_host || u == svc.unit;
  if (!on_some_host) return f.Err(n, field, "no host lists unit " + svc.unit + " under hosts.<name>.units");
  if (n["probes"])
    if (absl::Status s = ParseServiceProbes(f, n["probes"], field + ".probes", &svc); !s.ok()) return s;
  if (n["max_failed_hosts"])
    if (absl::Status s = ParseMaxFailedHosts(f, n["max_failed_hosts"], field + ".max_failed_hosts", &svc); !s.ok())
      return s;
  if (n["healthy_for_ms"]) {
    auto v = f.Ms(n["healthy_for_ms"], field + ".healthy_for_ms", kMaxHealthyForMs);
    if (!v.ok()) return v.status();
    svc.healthy_for_ms = *v;
  }
  if (n["min_healthy"])
    if (absl::Status s = ParseMinHealthy(f, n["min_healthy"], field + ".min_healthy", &svc); !s.ok()) return s;
  if (n["min_healthy_wait_ms"]) {
    auto v = f.Ms(n["min_healthy_wait_ms"], field + ".min_healthy_wait_ms", kMaxMs);
    if (!v.ok()) return v.status();
    svc.min_healthy_wait_ms = *v;
  }
  return svc;
}

absl::Status ParseServices(const YamlFields& f, const YAML::Node& root, Config* cfg) {
  const YAML::Node services = root["services"];
  if (!services || !services.IsSequence() || services.size() == 0)
    return f.Err(services ? services : root, "services", "missing: list the services with name and unit");
  if (services.size() > static_cast<size_t>(kMaxServicesPerConfig))
    return f.Err(services[kMaxServicesPerConfig], "services",
                 absl::StrCat("more than ", kMaxServicesPerConfig, " services; split the config"));
  for (size_t i = 0; i < services.size(); ++i) {
    auto svc = ParseService(f, services[i], absl::StrCat("services[", i, "]"), *cfg);
    if (!svc.ok()) return svc.status();
    cfg->services.push_back(std::move(*svc));
  }
  return absl::OkStatus();
}

absl::Status ParseOrder(const YamlFields& f, const YAML::Node& root, Config* cfg) {
  const YAML::Node order = root["order"];
  if (!order) {
    for (const auto& s : cfg->services) cfg->default_order.push_back(s.name);
    return absl::OkStatus();
  }
  if (!order.IsSequence()) return f.Err(order, "order", "must be a list of service names");
  for (const auto& o : order) {
    const std::string s = o.as<std::string>();
    if (!cfg->FindService(s)) return f.Err(o, "order", "unknown service \"" + s + "\"");
    cfg->default_order.push_back(s);
  }
  return absl::OkStatus();
}

absl::Status ParseHealthCheckTimes(const YamlFields& f, const YAML::Node& hc, HealthCheckConfig* h) {
  if (hc["expect_status"]) {
    auto v = f.Count(hc["expect_status"], "health_check.expect_status", 100, 599);
    if (!v.ok()) return v.status();
    h->expect_status = *v;
  }
  for (auto [key, dst] : std::initializer_list<std::pair<const char*, uint32_t*>>{
           {"timeout_ms", &h->timeout_ms}, {"deadline_ms", &h->deadline_ms}, {"interval_ms", &h->interval_ms}}) {
    if (!hc[key]) continue;
    auto v = f.Ms(hc[key], std::string("health_check.") + key, kMaxMs);
    if (!v.ok()) return v.status();
    *dst = *v;
  }
  if (hc["availability_interval_ms"]) {
    auto v = f.Ms(hc["availability_interval_ms"], "health_check.availability_interval_ms", kMaxMs);
    if (!v.ok()) return v.status();
    if (*v < 20) return f.Err(hc["availability_interval_ms"], "health_check.availability_interval_ms", "at least 20 (ms)");
    h->availability_interval_ms = *v;
  }
  return absl::OkStatus();
}

// health_check.allowed_api_bases: URL prefixes (or IPv4 network prefixes) a caller's --api-base may use.
absl::Status ParseAllowedApiBases(const YamlFields& f, const YAML::Node& n, HealthCheckConfig* h) {
  if (!n.IsSequence())
    return f.Err(n, "health_check.allowed_api_bases", "must be a list of URL prefixes, e.g. [\"https://api.staging.example.com/\"]");
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string field = absl::StrCat("health_check.allowed_api_bases[", i, "]");
    auto text = f.String(n[i], field);
    if (!text.ok()) return text.status();
    auto prefix = ParseApiBasePrefix(*text);
    if (!prefix.ok()) return f.Err(n[i], field, std::string(prefix.status().message()));
    h->allowed_api_bases.push_back(std::move(*prefix));
  }
  return absl::OkStatus();
}

absl::Status ParseHealthCheck(const YamlFields& f, const YAML::Node& hc, HealthCheckConfig* h) {
  if (absl::Status s = f.CheckKeys(hc, "health_check", {"api_base", "path", "token", "expect_status", "timeout_ms",
                                                        "deadline_ms", "interval_ms", "allowed_api_bases",
                                                        "availability_interval_ms"});
      !s.ok())
    return s;
  h->enabled = true;
  if (!hc["api_base"]) return f.Err(hc, "health_check.api_base", "missing (e.g. {env: API_BASE})");
  auto base = f.Ref(hc["api_base"], "health_check.api_base", /*secret=*/false);
  if (!base.ok()) return base.status();
  h->api_base = *base;
  if (hc["path"]) h->path = hc["path"].as<std::string>();
  if (hc["token"]) {
    auto tok = f.Ref(hc["token"], "health_check.token", /*secret=*/true);
    if (!tok.ok()) return tok.status();
    h->token_ref = *tok;
  }
  if (hc["allowed_api_bases"])
    if (absl::Status s = ParseAllowedApiBases(f, hc["allowed_api_bases"], h); !s.ok()) return s;
  return ParseHealthCheckTimes(f, hc, h);
}

absl::Status ParseGuards(const YamlFields& f, const YAML::Node& g, Config* cfg) {
  if (!g.IsSequence()) return f.Err(g, "guards", "must be a list of {host, probe}");
  for (size_t i = 0; i < g.size(); ++i) {
    const std::string field = absl::StrCat("guards[", i, "]");
    if (absl::Status s = f.CheckKeys(g[i], field, {"host", "probe"}); !s.ok()) return s;
    GuardConfig guard;
    if (!g[i]["host"] || !g[i]["probe"]) return f.Err(g[i], field, "needs host and probe");
    guard.host = g[i]["host"].as<std::string>();
    if (!cfg->FindHost(guard.host)) return f.Err(g[i]["host"], field + ".host", "unknown host \"" + guard.host + "\"");
    auto p = ParseProbe(f, g[i]["probe"], field + ".probe");
    if (!p.ok()) return p.status();
    guard.probe = *p;
    cfg->guards.push_back(std::move(guard));
  }
  return absl::OkStatus();
}

// Where a gate runs: "coordinator" (only in the coordinator's own config) or a host of the config.
absl::Status ParseGateOn(const YamlFields& f, const YAML::Node& on, const std::string& field, bool from_request,
                         const Config& cfg, GateConfig* gate) {
  auto where = f.String(on, field);
  if (!where.ok()) return where.status();
  gate->on = *where;
  if (gate->on == kGateOnCoordinator) {
    if (from_request)
      return f.Err(on, field,
                   "a config sent with a request may run gates only on its hosts (on: HOST): gates on the coordinator "
                   "belong in the coordinator's own --config");
    if (absl::Status s = CheckRunnableOnCoordinator(gate->probe); !s.ok())
      return f.Err(on, field, absl::StrCat(s.message(), ": use on: HOST"));
    return absl::OkStatus();
  }
  if (!cfg.FindHost(gate->on))
    return f.Err(on, field, "unknown host \"" + gate->on + "\" (use a host of hosts: or \"coordinator\")");
  return absl::OkStatus();
}

absl::StatusOr<GateConfig> ParseGate(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                     bool from_request, const Config& cfg) {
  if (absl::Status s = f.CheckKeys(n, field, {"name", "on", "probe"}); !s.ok()) return s;
  if (!n["name"]) return f.Err(n, field + ".name", "missing");
  if (!n["on"]) return f.Err(n, field + ".on", "missing: coordinator or a host name");
  if (!n["probe"] || !n["probe"].IsMap()) return f.Err(n, field + ".probe", "missing: a probe as in services[].probes");
  GateConfig gate;
  auto name = f.String(n["name"], field + ".name");
  if (!name.ok()) return name.status();
  gate.name = *name;
  YAML::Node probe = n["probe"];
  if (!probe["name"]) probe["name"] = gate.name;  // the probe's name defaults to the gate's
  auto p = ParseProbe(f, probe, field + ".probe");
  if (!p.ok()) return p.status();
  gate.probe = *p;
  if (absl::Status s = ParseGateOn(f, n["on"], field + ".on", from_request, cfg, &gate); !s.ok()) return s;
  return gate;
}

// gates: or stop_conditions: — a list of {name, on, probe}; names unique within the list.
absl::Status ParseGateList(const YamlFields& f, const YAML::Node& root, const char* key, bool from_request,
                           const Config& cfg, std::vector<GateConfig>* out) {
  const YAML::Node list = root[key];
  if (!list) return absl::OkStatus();
  if (!list.IsSequence()) return f.Err(list, key, "must be a list of {name, on, probe}");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = absl::StrCat(key, "[", i, "]");
    auto gate = ParseGate(f, list[i], field, from_request, cfg);
    if (!gate.ok()) return gate.status();
    for (const auto& g : *out)
      if (g.name == gate->name) return f.Err(list[i]["name"], field + ".name", "duplicate name \"" + g.name + "\"");
    out->push_back(std::move(*gate));
  }
  return absl::OkStatus();
}

// tls, insecure_plaintext, reports_dir and the rule tying them to the agent addresses.
absl::Status ParseTransport(const YamlFields& f, const YAML::Node& root, bool from_request, Config* cfg) {
  if (const auto t = root["tls"]) {
    if (absl::Status s = f.CheckKeys(t, "tls", {"ca", "cert", "key"}); !s.ok()) return s;
    if (t["ca"]) cfg->tls.ca_file = t["ca"].as<std::string>();
    if (t["cert"]) cfg->tls.cert_file = t["cert"].as<std::string>();
    if (t["key"]) cfg->tls.key_file = t["key"].as<std::string>();
  }
  if (root["insecure_plaintext"]) {
    auto v = f.Bool(root["insecure_plaintext"], "insecure_plaintext");
    if (!v.ok()) return v.status();
    cfg->insecure_plaintext = *v;
  }
  if (root["reports_dir"]) cfg->reports_dir = root["reports_dir"].as<std::string>();
  if (from_request) return absl::OkStatus();  // TLS comes from the coordinator's own config
  if (cfg->insecure_plaintext) {
    for (const auto& h : cfg->hosts)
      if (!IsLoopbackOrUnixAddress(h.agent))
        return f.Err(root["hosts"][h.name]["agent"], "hosts." + h.name + ".agent",
                     "insecure_plaintext refuses the non-loopback agent address " + h.agent);
  } else if (cfg->tls.ca_file.empty() || cfg->tls.cert_file.empty() || cfg->tls.key_file.empty()) {
    return f.Err(root["tls"] ? root["tls"] : root, "tls",
                 "ca, cert and key are required to reach agents over mTLS (or insecure_plaintext: true for loopback "
                 "tests)");
  }
  return absl::OkStatus();
}

absl::Status ParseSections(const YamlFields& f, const YAML::Node& root, bool from_request, Config* cfg) {
  if (root["defaults"])
    if (absl::Status s = ParseDefaults(f, root["defaults"], &cfg->defaults); !s.ok()) return s;
  if (from_request)
    for (const char* key : {"tls", "insecure_plaintext", "health_check", "reports_dir", "windows", "on_window_end",
                            "notifications", "publish"})
      if (root[key]) return f.Err(root[key], key, kNotInRequest);
  if (absl::Status s = ParseHosts(f, root, cfg); !s.ok()) return s;
  if (absl::Status s = ParseServices(f, root, cfg); !s.ok()) return s;
  if (absl::Status s = ParseOrder(f, root, cfg); !s.ok()) return s;
  if (root["health_check"])
    if (absl::Status s = ParseHealthCheck(f, root["health_check"], &cfg->health_check); !s.ok()) return s;
  if (root["guards"])
    if (absl::Status s = ParseGuards(f, root["guards"], cfg); !s.ok()) return s;
  if (absl::Status s = ParseGateList(f, root, "gates", from_request, *cfg, &cfg->gates); !s.ok()) return s;
  if (absl::Status s = ParseGateList(f, root, "stop_conditions", from_request, *cfg, &cfg->stop_conditions); !s.ok())
    return s;
  if (absl::Status s = ParseWindows(f, root, cfg); !s.ok()) return s;
  if (root["notifications"])
    if (absl::Status s = ParseNotifications(f, root["notifications"], cfg); !s.ok()) return s;
  if (root["publish"])
    if (absl::Status s = ParsePublish(f, root["publish"], cfg); !s.ok()) return s;
  return ParseTransport(f, root, from_request, cfg);
}

}  // namespace

absl::StatusOr<Config> ParseConfigText(const std::string& yaml, const std::string& path, ConfigSource source) {
  const bool from_request = source == ConfigSource::kRequest;
  auto root = LoadConfigYaml(yaml, path);
  if (!root.ok()) return root.status();
  YamlFields f(path);
  f.set_refs_allowed(!from_request,
                     "{env: ...} and {file: ...} are not allowed in a config sent with a request; they belong in the "
                     "coordinator's own --config");
  Config cfg;
  cfg.path = path;
  try {
    if (!root->IsMap()) return absl::InvalidArgumentError(path + ": the config must be a YAML mapping");
    if (absl::Status s = f.CheckKeys(*root, "", {"defaults", "hosts", "services", "order", "health_check", "guards",
                                                 "gates", "stop_conditions", "tls", "insecure_plaintext",
                                                 "reports_dir", "windows", "on_window_end", "notifications",
                                                 "publish"});
        !s.ok())
      return s;
    if (absl::Status s = ParseSections(f, *root, from_request, &cfg); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return cfg;
}

absl::Status ResolveConfigSecrets(const std::map<std::string, std::string>& env, Config* cfg) {
  if (absl::Status s = ResolveNotificationUrls(env, cfg); !s.ok()) return s;
  if (absl::Status s = ResolvePublishTokens(env, cfg); !s.ok()) return s;
  HealthCheckConfig& h = cfg->health_check;
  if (!h.enabled) return absl::OkStatus();
  auto base = ResolveValueRef(h.api_base, env);
  if (!base.ok()) return base.status();
  h.url = std::string(absl::StripSuffix(*base, "/")) + h.path;
  if (h.token_ref) {
    auto tok = ResolveValueRef(*h.token_ref, env);
    if (!tok.ok()) return tok.status();
    h.token = *tok;
    RegisterSecret(h.token);
  }
  v1::ProbeSpec check;
  check.set_name("health_check");
  check.mutable_http()->set_url(h.url);
  check.set_timeout_ms(h.timeout_ms);
  if (absl::Status s = ValidateProbeSpec(check); !s.ok())
    return absl::InvalidArgumentError(absl::StrCat(h.api_base.where, ": ", s.message()));
  return absl::OkStatus();
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml, const std::string& path,
                                   const std::map<std::string, std::string>& env, ConfigSource source) {
  auto cfg = ParseConfigText(yaml, path, source);
  if (!cfg.ok()) return cfg.status();
  if (absl::Status s = ResolveConfigSecrets(env, &*cfg); !s.ok()) return s;
  return cfg;
}

void OverlayCoordinatorSettings(const Config& own, Config* from_request) {
  from_request->tls = own.tls;
  from_request->insecure_plaintext = own.insecure_plaintext;
  from_request->health_check = own.health_check;
  from_request->reports_dir = own.reports_dir;
  // The request may not declare coordinator-side checks; the coordinator's own still apply.
  for (const auto& g : own.gates)
    if (g.on == kGateOnCoordinator) from_request->gates.push_back(g);
  for (const auto& g : own.stop_conditions)
    if (g.on == kGateOnCoordinator) from_request->stop_conditions.push_back(g);
  from_request->windows = own.windows;
  from_request->on_window_end = own.on_window_end;
  from_request->notifications = own.notifications;
}

absl::StatusOr<Config> ParseConfigWithProcessEnv(const std::string& yaml, const std::string& path,
                                                 ConfigSource source) {
  return ParseConfig(yaml, path, ProcessEnvironment(), source);
}

}  // namespace failover::coordinator
