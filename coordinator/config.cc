#include "config.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "failover/logging.h"
#include "failover/probe.h"
#include "failover/unit_name.h"
#include "yaml-cpp/yaml.h"

extern char** environ;

namespace failover::coordinator {
namespace {

constexpr uint32_t kMaxMs = 24u * 60 * 60 * 1000;
constexpr uint32_t kMaxJobTimeoutMs = 15u * 60 * 1000;  // same limit as the agent's

// Parsing context: file name, environment, and the error helper.
struct Ctx {
  const std::string& path;
  const std::map<std::string, std::string>& env;
  bool from_request = false;
  absl::Status Err(const YAML::Node& n, const std::string& field, const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", n.Mark().line + 1, ": ", field, ": ", what));
  }
};

absl::Status CheckKeys(const Ctx& c, const YAML::Node& n, const std::string& field, const std::set<std::string>& known) {
  if (!n.IsMap()) return c.Err(n, field, "must be a mapping");
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (!known.count(key)) {
      std::string list;
      for (const auto& k : known) absl::StrAppend(&list, list.empty() ? "" : ", ", k);
      return c.Err(kv.first, field.empty() ? key : field + "." + key, "unknown field (known: " + list + ")");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> GetString(const Ctx& c, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar() || n.Scalar().empty()) return c.Err(n, field, "must be a non-empty string");
  return n.Scalar();
}

absl::StatusOr<uint32_t> GetMs(const Ctx& c, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) return c.Err(n, field, "must be a number of milliseconds");
  const std::string& s = n.Scalar();
  if (s.empty() || s.find_first_not_of("0123456789-") != std::string::npos)
    return c.Err(n, field, "must be a whole number of milliseconds, got \"" + s + "\"");
  long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (v <= 0) return c.Err(n, field, "must be greater than 0, got " + s);
  if (v > kMaxMs) return c.Err(n, field, absl::StrCat("must be at most ", kMaxMs, " (24 h), got ", s));
  return static_cast<uint32_t>(v);
}

absl::StatusOr<uint32_t> GetCount(const Ctx& c, const YAML::Node& n, const std::string& field, uint32_t lo,
                                  uint32_t hi) {
  if (!n.IsScalar()) return c.Err(n, field, "must be a number");
  const std::string& s = n.Scalar();
  if (s.empty() || s.find_first_not_of("0123456789-") != std::string::npos)
    return c.Err(n, field, "must be a whole number, got \"" + s + "\"");
  long long v = std::strtoll(s.c_str(), nullptr, 10);
  if (v < lo || v > hi) return c.Err(n, field, absl::StrCat("must be ", lo, "..", hi, ", got ", s));
  return static_cast<uint32_t>(v);
}

absl::StatusOr<bool> GetBool(const Ctx& c, const YAML::Node& n, const std::string& field) {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) return c.Err(n, field, "must be true or false");
  return v;
}

// {env: VAR, default: x} | {file: PATH} | "literal"
absl::StatusOr<std::string> GetValueRef(const Ctx& c, const YAML::Node& n, const std::string& field, bool secret) {
  if (n.IsScalar()) {
    if (secret) return c.Err(n, field, "secrets must come from {env: VAR} or {file: PATH}, not be written in the config");
    return n.Scalar();
  }
  if (absl::Status s = CheckKeys(c, n, field, {"env", "file", "default"}); !s.ok()) return s;
  if (c.from_request)
    return c.Err(n, field, "{env: ...} and {file: ...} are not allowed in a config sent with a request; "
                           "they belong in the coordinator's own --config");
  if (n["env"]) {
    const std::string var = n["env"].as<std::string>();
    auto it = c.env.find(var);
    if (it != c.env.end() && !it->second.empty()) return it->second;
    if (n["default"] && !secret) return n["default"].as<std::string>();
    return c.Err(n, field, "environment variable " + var + " is not set");
  }
  if (n["file"]) {
    const std::string f = n["file"].as<std::string>();
    std::ifstream in(f);
    if (!in) return c.Err(n, field, "cannot read " + f);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string v(absl::StripAsciiWhitespace(ss.str()));
    if (v.empty()) return c.Err(n, field, f + " is empty");
    return v;
  }
  return c.Err(n, field, "needs env or file");
}

absl::StatusOr<v1::ProbeSpec> ParseProbe(const Ctx& c, const YAML::Node& n, const std::string& field) {
  if (absl::Status s = CheckKeys(c, n, field, {"name", "http", "tcp", "unit", "timeout_ms", "deadline_ms", "interval_ms"});
      !s.ok())
    return s;
  v1::ProbeSpec p;
  if (!n["name"]) return c.Err(n, field + ".name", "missing");
  auto name = GetString(c, n["name"], field + ".name");
  if (!name.ok()) return name.status();
  p.set_name(*name);
  p.set_timeout_ms(2000);
  p.set_deadline_ms(15000);
  p.set_interval_ms(20);
  for (const char* k : {"timeout_ms", "deadline_ms", "interval_ms"}) {
    if (!n[k]) continue;
    auto v = GetMs(c, n[k], field + "." + k);
    if (!v.ok()) return v.status();
    if (std::string(k) == "timeout_ms") p.set_timeout_ms(*v);
    if (std::string(k) == "deadline_ms") p.set_deadline_ms(*v);
    if (std::string(k) == "interval_ms") p.set_interval_ms(*v);
  }
  int kinds = (n["http"] ? 1 : 0) + (n["tcp"] ? 1 : 0) + (n["unit"] ? 1 : 0);
  if (kinds != 1) return c.Err(n, field, "needs exactly one of http, tcp, unit");
  if (const auto h = n["http"]) {
    if (absl::Status s = CheckKeys(c, h, field + ".http", {"url", "expect_status", "bearer_secret"}); !s.ok()) return s;
    if (!h["url"]) return c.Err(h, field + ".http.url", "missing");
    auto url = GetString(c, h["url"], field + ".http.url");
    if (!url.ok()) return url.status();
    p.mutable_http()->set_url(*url);
    if (h["expect_status"]) {
      auto st = GetCount(c, h["expect_status"], field + ".http.expect_status", 100, 599);
      if (!st.ok()) return st.status();
      p.mutable_http()->set_expect_status(*st);
    }
    if (h["bearer_secret"]) p.mutable_http()->set_bearer_secret(h["bearer_secret"].as<std::string>());
  }
  if (const auto t = n["tcp"]) {
    if (absl::Status s = CheckKeys(c, t, field + ".tcp", {"host", "port"}); !s.ok()) return s;
    if (!t["host"] || !t["port"]) return c.Err(t, field + ".tcp", "needs host and port");
    p.mutable_tcp()->set_host(t["host"].as<std::string>());
    auto port = GetCount(c, t["port"], field + ".tcp.port", 1, 65535);
    if (!port.ok()) return port.status();
    p.mutable_tcp()->set_port(*port);
  }
  if (const auto u = n["unit"]) {
    if (absl::Status s = CheckKeys(c, u, field + ".unit", {"unit", "expect_active_state", "result_unit"}); !s.ok()) return s;
    if (!u["unit"]) return c.Err(u, field + ".unit.unit", "missing");
    p.mutable_unit()->set_unit(u["unit"].as<std::string>());
    if (u["expect_active_state"]) p.mutable_unit()->set_expect_active_state(u["expect_active_state"].as<std::string>());
    if (u["result_unit"]) p.mutable_unit()->set_result_unit(u["result_unit"].as<std::string>());
  }
  if (p.deadline_ms() < p.timeout_ms())
    return c.Err(n, field + ".deadline_ms", "must be at least timeout_ms");
  if (absl::Status s = ValidateProbeSpec(p); !s.ok()) return c.Err(n, field, std::string(s.message()));
  return p;
}

absl::Status ParseDefaults(const Ctx& c, const YAML::Node& n, Defaults* d) {
  if (absl::Status s = CheckKeys(c, n, "defaults", {"mode", "failure_policy", "max_parallel", "job_timeout_ms", "lease_ms",
                                                    "call_timeout_ms", "allow_reset_failed"});
      !s.ok())
    return s;
  if (n["mode"]) {
    auto m = ParseMode(n["mode"].as<std::string>());
    if (!m.ok()) return c.Err(n["mode"], "defaults.mode", std::string(m.status().message()));
    d->mode = *m;
  }
  if (n["failure_policy"]) {
    auto p = ParseFailurePolicy(n["failure_policy"].as<std::string>());
    if (!p.ok()) return c.Err(n["failure_policy"], "defaults.failure_policy", std::string(p.status().message()));
    d->failure_policy = *p;
  }
  if (n["max_parallel"]) {
    auto v = GetCount(c, n["max_parallel"], "defaults.max_parallel", 1, 1000);
    if (!v.ok()) return v.status();
    d->max_parallel = *v;
  }
  for (auto [key, dst] : std::initializer_list<std::pair<const char*, uint32_t*>>{
           {"job_timeout_ms", &d->job_timeout_ms}, {"lease_ms", &d->lease_ms}, {"call_timeout_ms", &d->call_timeout_ms}}) {
    if (!n[key]) continue;
    auto v = GetMs(c, n[key], std::string("defaults.") + key);
    if (!v.ok()) return v.status();
    *dst = *v;
  }
  // The agents refuse longer jobs; say so here, before anything runs.
  if (d->job_timeout_ms > kMaxJobTimeoutMs)
    return c.Err(n["job_timeout_ms"], "defaults.job_timeout_ms",
                 absl::StrCat("must be at most ", kMaxJobTimeoutMs, " (15 min)"));
  if (n["allow_reset_failed"]) {
    auto v = GetBool(c, n["allow_reset_failed"], "defaults.allow_reset_failed");
    if (!v.ok()) return v.status();
    d->allow_reset_failed = *v;
  }
  // A lease shorter than a stop+start would expire under a healthy step.
  if (d->lease_ms < 2 * d->job_timeout_ms && n["lease_ms"])
    return c.Err(n["lease_ms"], "defaults.lease_ms",
                 absl::StrCat("must be at least twice job_timeout_ms (", 2 * d->job_timeout_ms,
                              " ms) so a healthy stop+start never outlives it"));
  if (d->lease_ms < 2 * d->job_timeout_ms) d->lease_ms = 2 * d->job_timeout_ms;
  // Renewals happen every lease/3 and may each take a call timeout: keep them inside the lease.
  if (d->lease_ms < 3 * d->call_timeout_ms)
    return c.Err(n["lease_ms"] ? n["lease_ms"] : n, "defaults.lease_ms",
                 absl::StrCat("must be at least 3 x call_timeout_ms (", 3 * d->call_timeout_ms, " ms)"));
  return absl::OkStatus();
}

}  // namespace

v1::ProbeSpec HealthCheckProbe(const HealthCheckConfig& hc) {
  v1::ProbeSpec spec;
  spec.set_name("health_check");
  spec.mutable_http()->set_url(hc.url);
  spec.mutable_http()->set_expect_status(hc.expect_status);
  if (!hc.token.empty()) spec.mutable_http()->set_bearer_secret(kHealthCheckSecret);
  spec.set_timeout_ms(hc.timeout_ms);
  spec.set_deadline_ms(hc.deadline_ms);
  spec.set_interval_ms(hc.interval_ms);
  return spec;
}

const HostConfig* Config::FindHost(const std::string& name) const {
  for (const auto& h : hosts)
    if (h.name == name) return &h;
  return nullptr;
}

const ServiceConfig* Config::FindService(const std::string& name) const {
  for (const auto& s : services)
    if (s.name == name) return &s;
  return nullptr;
}

absl::StatusOr<Mode> ParseMode(const std::string& s) {
  if (s == "rolling") return Mode::kRolling;
  if (s == "stop-all") return Mode::kStopAll;
  return absl::InvalidArgumentError("mode must be \"rolling\" or \"stop-all\", got \"" + s + "\"");
}

absl::StatusOr<FailurePolicy> ParseFailurePolicy(const std::string& s) {
  if (s == "abort") return FailurePolicy::kAbort;
  if (s == "continue") return FailurePolicy::kContinue;
  if (s == "restore") return FailurePolicy::kRestore;
  return absl::InvalidArgumentError("failure policy must be \"abort\", \"continue\" or \"restore\", got \"" + s + "\"");
}

std::string ModeName(Mode m) { return m == Mode::kRolling ? "rolling" : "stop-all"; }
std::string FailurePolicyName(FailurePolicy p) {
  return p == FailurePolicy::kAbort ? "abort" : p == FailurePolicy::kContinue ? "continue" : "restore";
}

absl::StatusOr<Config> ParseConfig(const std::string& yaml, const std::string& path,
                                   const std::map<std::string, std::string>& env, ConfigSource source) {
  Ctx c{path, env, source == ConfigSource::kRequest};
  Config cfg;
  cfg.path = path;
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  try {
    if (!root.IsMap()) return absl::InvalidArgumentError(path + ": the config must be a YAML mapping");
    if (absl::Status s = CheckKeys(c, root, "", {"defaults", "hosts", "services", "order", "health_check", "guards", "tls",
                                                 "insecure_plaintext", "reports_dir"});
        !s.ok())
      return s;
    if (root["defaults"])
      if (absl::Status s = ParseDefaults(c, root["defaults"], &cfg.defaults); !s.ok()) return s;
    if (c.from_request)
      for (const char* key : {"tls", "insecure_plaintext", "health_check", "reports_dir"})
        if (root[key])
          return c.Err(root[key], key, "not allowed in a config sent with a request: it comes from the coordinator's "
                                       "own --config");

    // hosts
    if (!root["hosts"] || !root["hosts"].IsMap() || root["hosts"].size() == 0)
      return c.Err(root["hosts"] ? root["hosts"] : root, "hosts", "missing: map each host name to {agent, units}");
    for (const auto& kv : root["hosts"]) {
      HostConfig h;
      h.name = kv.first.as<std::string>();
      const std::string f = "hosts." + h.name;
      if (absl::Status s = ValidateUnitName(h.name + ".service"); !s.ok() || h.name.find('@') != std::string::npos)
        return c.Err(kv.first, f, "host names may hold only letters, digits, '-', '_', '.', ':'");
      if (absl::Status s = CheckKeys(c, kv.second, f, {"agent", "units"}); !s.ok()) return s;
      if (!kv.second["agent"]) return c.Err(kv.second, f + ".agent", "missing (host:port of the agent)");
      auto agent = GetString(c, kv.second["agent"], f + ".agent");
      if (!agent.ok()) return agent.status();
      h.agent = *agent;
      if (h.agent.find(':') == std::string::npos) return c.Err(kv.second["agent"], f + ".agent", "must be host:port");
      if (!kv.second["units"] || !kv.second["units"].IsSequence())
        return c.Err(kv.second, f + ".units", "missing: list the units this host runs");
      for (const auto& u : kv.second["units"]) {
        const std::string unit = u.as<std::string>();
        if (absl::Status s = ValidateUnitName(unit); !s.ok()) return c.Err(u, f + ".units", std::string(s.message()));
        h.units.push_back(unit);
      }
      if (cfg.FindHost(h.name)) return c.Err(kv.first, f, "duplicate host");
      cfg.hosts.push_back(std::move(h));
    }

    // services
    if (!root["services"] || !root["services"].IsSequence() || root["services"].size() == 0)
      return c.Err(root["services"] ? root["services"] : root, "services", "missing: list the services with name and unit");
    for (size_t i = 0; i < root["services"].size(); ++i) {
      const YAML::Node n = root["services"][i];
      const std::string f = absl::StrCat("services[", i, "]");
      if (absl::Status s = CheckKeys(c, n, f, {"name", "unit", "probes", "max_failed_hosts"}); !s.ok()) return s;
      ServiceConfig svc;
      if (!n["name"]) return c.Err(n, f + ".name", "missing");
      auto name = GetString(c, n["name"], f + ".name");
      if (!name.ok()) return name.status();
      svc.name = *name;
      svc.unit = n["unit"] ? n["unit"].as<std::string>() : svc.name + ".service";
      if (absl::Status s = ValidateUnitName(svc.unit); !s.ok())
        return c.Err(n["unit"] ? n["unit"] : n, f + ".unit", std::string(s.message()));
      if (cfg.FindService(svc.name)) return c.Err(n["name"], f + ".name", "duplicate service \"" + svc.name + "\"");
      bool on_some_host = false;
      for (const auto& h : cfg.hosts)
        for (const auto& u : h.units) on_some_host = on_some_host || u == svc.unit;
      if (!on_some_host) return c.Err(n, f, "no host lists unit " + svc.unit + " under hosts.<name>.units");
      if (n["probes"]) {
        if (!n["probes"].IsSequence()) return c.Err(n["probes"], f + ".probes", "must be a list");
        for (size_t j = 0; j < n["probes"].size(); ++j) {
          auto p = ParseProbe(c, n["probes"][j], absl::StrCat(f, ".probes[", j, "]"));
          if (!p.ok()) return p.status();
          svc.probes.push_back(*p);
        }
      }
      if (const auto m = n["max_failed_hosts"]) {
        std::string s = m.Scalar();
        if (absl::EndsWith(s, "%")) {
          svc.failure_percent = true;
          s.pop_back();
          YAML::Node num(s);
          auto v = GetCount(c, num, f + ".max_failed_hosts", 0, 100);
          if (!v.ok()) return c.Err(m, f + ".max_failed_hosts", "percent must be 0..100%");
          svc.max_failed_hosts = *v;
        } else {
          auto v = GetCount(c, m, f + ".max_failed_hosts", 0, 10000);
          if (!v.ok()) return v.status();
          svc.max_failed_hosts = *v;
        }
      }
      cfg.services.push_back(std::move(svc));
    }

    // order (default service order)
    if (root["order"]) {
      if (!root["order"].IsSequence()) return c.Err(root["order"], "order", "must be a list of service names");
      for (const auto& o : root["order"]) {
        const std::string s = o.as<std::string>();
        if (!cfg.FindService(s)) return c.Err(o, "order", "unknown service \"" + s + "\"");
        cfg.default_order.push_back(s);
      }
    } else {
      for (const auto& s : cfg.services) cfg.default_order.push_back(s.name);
    }

    if (const auto hc = root["health_check"]) {
      if (absl::Status s = CheckKeys(c, hc, "health_check", {"api_base", "path", "token", "expect_status", "timeout_ms",
                                                             "deadline_ms", "interval_ms"});
          !s.ok())
        return s;
      auto& h = cfg.health_check;
      h.enabled = true;
      if (!hc["api_base"]) return c.Err(hc, "health_check.api_base", "missing (e.g. {env: API_BASE})");
      auto base = GetValueRef(c, hc["api_base"], "health_check.api_base", false);
      if (!base.ok()) return base.status();
      const std::string p = hc["path"] ? hc["path"].as<std::string>() : "/health";
      h.url = std::string(absl::StripSuffix(*base, "/")) + p;
      if (hc["token"]) {
        auto tok = GetValueRef(c, hc["token"], "health_check.token", true);
        if (!tok.ok()) return tok.status();
        h.token = *tok;
        RegisterSecret(h.token);
      }
      if (hc["expect_status"]) {
        auto v = GetCount(c, hc["expect_status"], "health_check.expect_status", 100, 599);
        if (!v.ok()) return v.status();
        h.expect_status = *v;
      }
      for (auto [key, dst] : std::initializer_list<std::pair<const char*, uint32_t*>>{
               {"timeout_ms", &h.timeout_ms}, {"deadline_ms", &h.deadline_ms}, {"interval_ms", &h.interval_ms}}) {
        if (!hc[key]) continue;
        auto v = GetMs(c, hc[key], std::string("health_check.") + key);
        if (!v.ok()) return v.status();
        *dst = *v;
      }
      v1::ProbeSpec check;
      check.set_name("health_check");
      check.mutable_http()->set_url(h.url);
      check.set_timeout_ms(h.timeout_ms);
      if (absl::Status s = ValidateProbeSpec(check); !s.ok())
        return c.Err(hc["api_base"], "health_check.api_base", std::string(s.message()));
    }

    if (const auto g = root["guards"]) {
      if (!g.IsSequence()) return c.Err(g, "guards", "must be a list of {host, probe}");
      for (size_t i = 0; i < g.size(); ++i) {
        const std::string f = absl::StrCat("guards[", i, "]");
        if (absl::Status s = CheckKeys(c, g[i], f, {"host", "probe"}); !s.ok()) return s;
        GuardConfig guard;
        if (!g[i]["host"] || !g[i]["probe"]) return c.Err(g[i], f, "needs host and probe");
        guard.host = g[i]["host"].as<std::string>();
        if (!cfg.FindHost(guard.host)) return c.Err(g[i]["host"], f + ".host", "unknown host \"" + guard.host + "\"");
        auto p = ParseProbe(c, g[i]["probe"], f + ".probe");
        if (!p.ok()) return p.status();
        guard.probe = *p;
        cfg.guards.push_back(std::move(guard));
      }
    }

    if (const auto t = root["tls"]) {
      if (absl::Status s = CheckKeys(c, t, "tls", {"ca", "cert", "key"}); !s.ok()) return s;
      if (t["ca"]) cfg.tls.ca_file = t["ca"].as<std::string>();
      if (t["cert"]) cfg.tls.cert_file = t["cert"].as<std::string>();
      if (t["key"]) cfg.tls.key_file = t["key"].as<std::string>();
    }
    if (root["insecure_plaintext"]) {
      auto v = GetBool(c, root["insecure_plaintext"], "insecure_plaintext");
      if (!v.ok()) return v.status();
      cfg.insecure_plaintext = *v;
    }
    if (c.from_request) {
      // TLS comes from the coordinator's own config (OverlayCoordinatorSettings).
    } else if (cfg.insecure_plaintext) {
      for (size_t i = 0; i < cfg.hosts.size(); ++i)
        if (!IsLoopbackOrUnixAddress(cfg.hosts[i].agent))
          return c.Err(root["hosts"][cfg.hosts[i].name]["agent"], "hosts." + cfg.hosts[i].name + ".agent",
                       "insecure_plaintext refuses the non-loopback agent address " + cfg.hosts[i].agent);
    } else if (cfg.tls.ca_file.empty() || cfg.tls.cert_file.empty() || cfg.tls.key_file.empty()) {
      return c.Err(root["tls"] ? root["tls"] : root, "tls",
                   "ca, cert and key are required to reach agents over mTLS (or insecure_plaintext: true for loopback tests)");
    }
    if (root["reports_dir"]) cfg.reports_dir = root["reports_dir"].as<std::string>();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return cfg;
}

void OverlayCoordinatorSettings(const Config& own, Config* from_request) {
  from_request->tls = own.tls;
  from_request->insecure_plaintext = own.insecure_plaintext;
  from_request->health_check = own.health_check;
  from_request->reports_dir = own.reports_dir;
}

absl::StatusOr<Config> ParseConfigWithProcessEnv(const std::string& yaml, const std::string& path,
                                                 ConfigSource source) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return ParseConfig(yaml, path, env, source);
}

}  // namespace failover::coordinator
