#include "agent_config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "failover/logging.h"
#include "failover/tls.h"
#include "yaml-cpp/yaml.h"

namespace failover::agent {
namespace {

std::string Where(const std::string& path, const YAML::Node& n, const std::string& field) {
  return absl::StrCat(path, ":", n.Mark().line + 1, ": ", field);
}

absl::StatusOr<std::string> Str(const std::string& path, const YAML::Node& n, const std::string& field) {
  if (!n.IsScalar()) return absl::InvalidArgumentError(absl::StrCat(Where(path, n, field), ": must be a string"));
  return n.as<std::string>();
}

absl::StatusOr<std::string> ReadSecret(const std::string& path, const std::string& name, const YAML::Node& n) {
  if (!n.IsMap()) return absl::InvalidArgumentError(absl::StrCat(Where(path, n, "secrets." + name), ": must be {env: VAR} or {file: PATH} (with optional urls: [prefix, ...])"));
  for (const auto& kv : n) {
    const std::string key = kv.first.as<std::string>();
    if (key != "env" && key != "file" && key != "urls")
      return absl::InvalidArgumentError(absl::StrCat(Where(path, kv.first, "secrets." + name + "." + key), ": unknown field (env, file, urls)"));
  }
  if (n["env"]) {
    const std::string var = n["env"].as<std::string>();
    const char* v = std::getenv(var.c_str());
    if (v == nullptr || *v == 0)
      return absl::InvalidArgumentError(absl::StrCat(Where(path, n, "secrets." + name), ": environment variable ", var, " is not set"));
    return std::string(v);
  }
  if (n["file"]) {
    const std::string f = n["file"].as<std::string>();
    std::ifstream in(f);
    if (!in) return absl::InvalidArgumentError(absl::StrCat(Where(path, n, "secrets." + name), ": cannot read ", f));
    std::stringstream ss;
    ss << in.rdbuf();
    std::string v(absl::StripAsciiWhitespace(ss.str()));
    if (v.empty()) return absl::InvalidArgumentError(absl::StrCat(Where(path, n, "secrets." + name), ": ", f, " is empty"));
    return v;
  }
  return absl::InvalidArgumentError(absl::StrCat(Where(path, n, "secrets." + name), ": needs env or file"));
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": YAML syntax error: ", e.msg));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError(absl::StrCat(path, ": top level must be a mapping"));
  AgentConfig c;
  try {
    static const std::set<std::string> kKnown = {"host", "listen", "allow_units", "secrets", "tls",
                                                 "allowed_clients", "insecure_plaintext", "audit_log", "state_dir"};
    for (const auto& kv : root) {
      const std::string key = kv.first.as<std::string>();
      if (!kKnown.count(key))
        return absl::InvalidArgumentError(absl::StrCat(Where(path, kv.first, key), ": unknown field"));
    }
    if (!root["host"]) return absl::InvalidArgumentError(absl::StrCat(path, ": host: missing (the host's name)"));
    auto host = Str(path, root["host"], "host");
    if (!host.ok()) return host.status();
    c.host = *host;
    if (!root["listen"]) return absl::InvalidArgumentError(absl::StrCat(path, ": listen: missing (e.g. 10.0.0.5:7700)"));
    auto listen = Str(path, root["listen"], "listen");
    if (!listen.ok()) return listen.status();
    c.listen = *listen;
    std::vector<std::string> patterns;
    if (root["allow_units"]) {
      if (!root["allow_units"].IsSequence())
        return absl::InvalidArgumentError(absl::StrCat(Where(path, root["allow_units"], "allow_units"), ": must be a list"));
      for (const auto& p : root["allow_units"]) patterns.push_back(p.as<std::string>());
    }
    auto list = UnitAllowlist::Create(patterns);
    if (!list.ok())
      return absl::InvalidArgumentError(absl::StrCat(Where(path, root["allow_units"], "allow_units"), ": ", list.status().message()));
    c.allowlist = *list;
    if (root["secrets"]) {
      for (const auto& kv : root["secrets"]) {
        const std::string name = kv.first.as<std::string>();
        auto v = ReadSecret(path, name, kv.second);
        if (!v.ok()) return v.status();
        RegisterSecret(*v);
        c.secrets[name] = *v;
        std::vector<std::string> urls = DefaultSecretUrls();
        if (const auto u = kv.second["urls"]) {
          if (!u.IsSequence() || u.size() == 0)
            return absl::InvalidArgumentError(absl::StrCat(Where(path, u, "secrets." + name + ".urls"), ": must be a non-empty list of URL prefixes"));
          urls.clear();
          for (const auto& prefix : u) {
            const std::string p = prefix.as<std::string>();
            const size_t scheme = p.find("://");
            if (scheme == std::string::npos || p.find('/', scheme + 3) == std::string::npos)
              return absl::InvalidArgumentError(absl::StrCat(Where(path, prefix, "secrets." + name + ".urls"), ": \"", p,
                                                             "\" must be scheme://host[:port]/path-prefix"));
            urls.push_back(p);
          }
        }
        c.secret_urls[name] = urls;
      }
    }
    if (const auto tls = root["tls"]) {
      if (tls["ca"]) c.tls.ca_file = tls["ca"].as<std::string>();
      if (tls["cert"]) c.tls.cert_file = tls["cert"].as<std::string>();
      if (tls["key"]) c.tls.key_file = tls["key"].as<std::string>();
    }
    if (root["allowed_clients"])
      for (const auto& p : root["allowed_clients"]) c.allowed_clients.push_back(p.as<std::string>());
    if (root["insecure_plaintext"]) c.insecure_plaintext = root["insecure_plaintext"].as<bool>();
    if (root["audit_log"]) c.audit_log = root["audit_log"].as<std::string>();
    if (root["state_dir"]) c.state_dir = root["state_dir"].as<std::string>();
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return c;
}

absl::Status CheckAgentConfig(const AgentConfig& c, const std::string& path) {
  if (c.insecure_plaintext) {
    if (!IsLoopbackOrUnixAddress(c.listen))
      return absl::InvalidArgumentError(absl::StrCat(path, ": insecure_plaintext refuses the non-loopback listen address ",
                                                     c.listen, "; configure tls instead"));
  } else if (c.tls.ca_file.empty() || c.tls.cert_file.empty() || c.tls.key_file.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": tls.ca, tls.cert and tls.key are required (mTLS); ",
                                                   "plaintext needs insecure_plaintext: true and a loopback address"));
  }
  if (!c.insecure_plaintext && c.allowed_clients.empty())
    return absl::InvalidArgumentError(absl::StrCat(path, ": allowed_clients: list the certificate names that may call ",
                                                   "this agent (e.g. [coordinator]); an empty list is not allowed"));
  if (c.allowlist.patterns().empty())
    GetLogger("agent")->warn("{}: allow_units is empty: every unit request will be refused", path);
  return absl::OkStatus();
}

std::vector<std::string> DefaultSecretUrls() {
  return {"http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/",
          "https://127.0.0.1:", "https://127.0.0.1/", "https://localhost:", "https://localhost/"};
}

absl::Status CheckSecretUse(const AgentConfig& config, const v1::ProbeSpec& probe) {
  if (probe.kind_case() != v1::ProbeSpec::kHttp || probe.http().bearer_secret().empty()) return absl::OkStatus();
  const std::string& name = probe.http().bearer_secret();
  auto it = config.secret_urls.find(name);
  if (it == config.secret_urls.end())
    return absl::InvalidArgumentError(absl::StrCat("probe \"", probe.name(), "\": secret \"", name.substr(0, 64),
                                                   "\" is not defined in this agent's config"));
  for (const auto& prefix : it->second)
    if (probe.http().url().compare(0, prefix.size(), prefix) == 0) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("probe \"", probe.name(), "\": secret \"", name, "\" may not be sent to ",
                                                  probe.http().url().substr(0, 200),
                                                  "; allowed URL prefixes are set in the agent config (secrets.", name,
                                                  ".urls)"));
}

absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read agent config ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseAgentConfig(ss.str(), path);
  if (!c.ok()) return c.status();
  if (absl::Status s = CheckAgentConfig(*c, path); !s.ok()) return s;
  return c;
}

}  // namespace failover::agent
