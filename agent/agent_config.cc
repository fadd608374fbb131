#include "agent_config.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "failover/probe_spec.h"
#include "failover/yaml_config.h"

namespace failover::agent {
namespace {

absl::StatusOr<std::vector<std::string>> ParseSecretUrls(const YamlFields& f, const YAML::Node& u,
                                                         const std::string& field) {
  if (!u.IsSequence() || u.size() == 0) return f.Err(u, field, "must be a non-empty list of URL prefixes");
  std::vector<std::string> urls;
  for (const auto& prefix : u) {
    const std::string p = prefix.as<std::string>();
    const size_t scheme = p.find("://");
    if (scheme == std::string::npos || p.find('/', scheme + 3) == std::string::npos)
      return f.Err(prefix, field, "\"" + p + "\" must be scheme://host[:port]/path-prefix");
    urls.push_back(p);
  }
  return urls;
}

absl::Status ParseSecrets(const YamlFields& f, const YAML::Node& n, AgentConfig* c) {
  if (!n.IsMap()) return f.Err(n, "secrets", "must be a mapping of name: {env: VAR} or {file: PATH}");
  for (const auto& kv : n) {
    const std::string name = kv.first.as<std::string>();
    const std::string field = "secrets." + name;
    if (!kv.second.IsMap())
      return f.Err(kv.second, field, "must be {env: VAR} or {file: PATH} (with optional urls: [prefix, ...])");
    auto ref = f.Ref(kv.second, field, /*secret=*/true, {"env", "file", "urls"});
    if (!ref.ok()) return ref.status();
    c->secret_refs[name] = *ref;
    std::vector<std::string> urls = DefaultSecretUrls();
    if (const auto u = kv.second["urls"]) {
      auto list = ParseSecretUrls(f, u, field + ".urls");
      if (!list.ok()) return list.status();
      urls = *list;
    }
    c->secret_urls[name] = urls;
  }
  return absl::OkStatus();
}

absl::Status ParseResticRepositories(const YamlFields& f, const YAML::Node& n, AgentConfig* c) {
  if (!n.IsMap()) return f.Err(n, "restic_repositories", "must be a mapping of name: {repository: PATH_OR_URL, password_file: PATH}");
  for (const auto& kv : n) {
    const std::string name = kv.first.as<std::string>();
    const std::string field = "restic_repositories." + name;
    v1::ProbeSpec probe;  // the name must be one a probe can carry
    probe.set_name("restic");
    probe.set_timeout_ms(1);
    probe.mutable_restic()->set_repository(name);
    probe.mutable_restic()->set_max_age_ms(1);
    if (!ValidateProbeSpec(probe).ok())
      return f.Err(kv.first, field, "name must be letters, digits, _ . - (at most 64)");
    if (!kv.second.IsMap()) return f.Err(kv.second, field, "must be {repository: PATH_OR_URL, password_file: PATH}");
    if (absl::Status s = f.CheckKeys(kv.second, field, {"repository", "password_file"}); !s.ok()) return s;
    ResticRepository r;
    for (const char* key : {"repository", "password_file"}) {
      if (!kv.second[key]) return f.Err(kv.second, field + "." + key, "missing");
      auto v = f.String(kv.second[key], field + "." + key);
      if (!v.ok()) return v.status();
      if (v->empty()) return f.Err(kv.second[key], field + "." + key, "must not be empty");
      (std::string(key) == "repository" ? r.repository : r.password_file) = *v;
    }
    if (r.password_file[0] != '/') return f.Err(kv.second["password_file"], field + ".password_file", "must be an absolute path");
    c->restic_repositories[name] = r;
  }
  return absl::OkStatus();
}

absl::Status ParseAllowUnits(const YamlFields& f, const YAML::Node& root, AgentConfig* c) {
  std::vector<std::string> patterns;
  if (root["allow_units"]) {
    auto list = f.StringList(root["allow_units"], "allow_units");
    if (!list.ok()) return list.status();
    patterns = *list;
  }
  auto allow = UnitAllowlist::Create(patterns);
  if (!allow.ok()) return f.Err(root["allow_units"], "allow_units", std::string(allow.status().message()));
  c->allowlist = *allow;
  return absl::OkStatus();
}

absl::Status ParseTransport(const YamlFields& f, const YAML::Node& root, AgentConfig* c) {
  if (const auto tls = root["tls"]) {
    if (absl::Status s = f.CheckKeys(tls, "tls", {"ca", "cert", "key"}); !s.ok()) return s;
    if (tls["ca"]) c->tls.ca_file = tls["ca"].as<std::string>();
    if (tls["cert"]) c->tls.cert_file = tls["cert"].as<std::string>();
    if (tls["key"]) c->tls.key_file = tls["key"].as<std::string>();
  }
  if (root["allowed_clients"]) {
    auto list = f.StringList(root["allowed_clients"], "allowed_clients");
    if (!list.ok()) return list.status();
    c->allowed_clients = *list;
  }
  if (root["insecure_plaintext"]) {
    auto v = f.Bool(root["insecure_plaintext"], "insecure_plaintext");
    if (!v.ok()) return v.status();
    c->insecure_plaintext = *v;
  }
  return absl::OkStatus();
}

absl::Status ParseSections(const YamlFields& f, const YAML::Node& root, AgentConfig* c) {
  if (absl::Status s = f.CheckKeys(root, "", {"host", "listen", "allow_units", "secrets", "tls", "allowed_clients",
                                              "insecure_plaintext", "audit_log", "state_dir", "restic_repositories"});
      !s.ok())
    return s;
  if (!root["host"]) return f.Err(root, "host", "missing (the host's name)");
  auto host = f.String(root["host"], "host");
  if (!host.ok()) return host.status();
  c->host = *host;
  if (!root["listen"]) return f.Err(root, "listen", "missing (e.g. 10.0.0.5:7700)");
  auto listen = f.String(root["listen"], "listen");
  if (!listen.ok()) return listen.status();
  c->listen = *listen;
  if (absl::Status s = ParseAllowUnits(f, root, c); !s.ok()) return s;
  if (root["secrets"])
    if (absl::Status s = ParseSecrets(f, root["secrets"], c); !s.ok()) return s;
  if (absl::Status s = ParseTransport(f, root, c); !s.ok()) return s;
  if (root["audit_log"]) c->audit_log = root["audit_log"].as<std::string>();
  if (root["state_dir"]) c->state_dir = root["state_dir"].as<std::string>();
  if (root["restic_repositories"])
    if (absl::Status s = ParseResticRepositories(f, root["restic_repositories"], c); !s.ok()) return s;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AgentConfig> ParseAgentConfigText(const std::string& yaml, const std::string& path) {
  auto root = LoadConfigYaml(yaml, path);
  if (!root.ok()) return root.status();
  if (!root->IsMap()) return absl::InvalidArgumentError(absl::StrCat(path, ": top level must be a mapping"));
  AgentConfig c;
  try {
    if (absl::Status s = ParseSections(YamlFields(path), *root, &c); !s.ok()) return s;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", e.mark.line + 1, ": ", e.msg));
  }
  return c;
}

absl::Status ResolveAgentSecrets(const std::map<std::string, std::string>& env, AgentConfig* c) {
  for (const auto& [name, ref] : c->secret_refs) {
    auto v = ResolveValueRef(ref, env);
    if (!v.ok()) return v.status();
    RegisterSecret(*v);
    c->secrets[name] = *v;
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& path) {
  auto c = ParseAgentConfigText(yaml, path);
  if (!c.ok()) return c.status();
  if (absl::Status s = ResolveAgentSecrets(ProcessEnvironment(), &*c); !s.ok()) return s;
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
  if (probe.kind_case() == v1::ProbeSpec::kRestic &&
      config.restic_repositories.count(probe.restic().repository()) == 0)
    return absl::NotFoundError(absl::StrCat("probe \"", probe.name(), "\": restic repository \"",
                                            probe.restic().repository().substr(0, 64),
                                            "\" is not defined in this agent's config (restic_repositories)"));
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
