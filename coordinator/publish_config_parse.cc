#include "coordinator/publish_config_parse.h"

#include <algorithm>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::coordinator {
namespace {

constexpr size_t kMaxDestinations = 16;

absl::StatusOr<PublishKind> ParseKind(const YamlFields& f, const YAML::Node& n, const std::string& field) {
  auto word = f.String(n, field);
  if (!word.ok()) return word.status();
  if (*word == "confluence") return PublishKind::kConfluence;
  if (*word == "notion") return PublishKind::kNotion;
  if (*word == "webhook") return PublishKind::kWebhook;
  return f.Err(n, field, "\"" + *word + "\" is not a destination kind (confluence, notion, webhook)");
}

absl::Status ParseText(const YamlFields& f, const YAML::Node& n, const std::string& field, const char* key,
                       std::string* out) {
  if (!n[key]) return absl::OkStatus();
  auto v = f.String(n[key], field + "." + key);
  if (!v.ok()) return v.status();
  *out = *v;
  return absl::OkStatus();
}

absl::Status ParseNumbers(const YamlFields& f, const YAML::Node& n, const std::string& field, PublishDestination* d) {
  if (n["timeout_ms"]) {
    auto v = f.Ms(n["timeout_ms"], field + ".timeout_ms", 120000);
    if (!v.ok()) return v.status();
    d->timeout_ms = *v;
  }
  if (n["retry_ms"]) {
    auto v = f.Ms(n["retry_ms"], field + ".retry_ms", 300000);
    if (!v.ok()) return v.status();
    d->retry_ms = std::max<uint32_t>(*v, 10);
  }
  if (n["attempts"]) {
    auto v = f.Count(n["attempts"], field + ".attempts", 1, 100);
    if (!v.ok()) return v.status();
    d->attempts = *v;
  }
  if (n["max_age_s"]) {
    auto v = f.Count(n["max_age_s"], field + ".max_age_s", 1, 30u * 86400);
    if (!v.ok()) return v.status();
    d->max_age_s = *v;
  }
  return absl::OkStatus();
}

// What each kind needs beyond name, kind and url.
absl::Status CheckKindFields(const YamlFields& f, const YAML::Node& n, const std::string& field,
                             const PublishDestination& d) {
  const bool confluence = d.kind == PublishKind::kConfluence;
  const bool notion = d.kind == PublishKind::kNotion;
  const std::string kind = PublishKindName(d.kind);
  if (confluence && d.space_key.empty())
    return f.Err(n, field + ".space_key", "missing: a confluence destination needs the space key (e.g. OPS)");
  if (notion && d.parent_page_id.empty())
    return f.Err(n, field + ".parent_page_id", "missing: a notion destination needs the parent page's id");
  if ((confluence || notion) && !d.token_ref)
    return f.Err(n, field + ".token", "missing: a " + kind + " destination needs a token ({env: VAR} or {file: PATH})");
  for (const char* key : {"space_key", "ancestor_id", "user"})
    if (!confluence && n[key]) return f.Err(n[key], field + "." + key, "only for kind: confluence");
  if (!notion && n["parent_page_id"]) return f.Err(n["parent_page_id"], field + ".parent_page_id", "only for kind: notion");
  return absl::OkStatus();
}

absl::StatusOr<PublishDestination> ParseDestination(const YamlFields& f, const YAML::Node& n, const std::string& field) {
  if (absl::Status s = f.CheckKeys(n, field, {"name", "kind", "url", "space_key", "ancestor_id", "parent_page_id", "user",
                                              "token", "title", "timeout_ms", "attempts", "max_age_s", "retry_ms"});
      !s.ok())
    return s;
  PublishDestination d;
  d.where = f.Where(n, field);
  auto name = f.String(n["name"], field + ".name");
  if (!name.ok()) return name.status();
  d.name = *name;
  if (!n["kind"]) return f.Err(n, field + ".kind", "missing (confluence, notion or webhook)");
  auto kind = ParseKind(f, n["kind"], field + ".kind");
  if (!kind.ok()) return kind.status();
  d.kind = *kind;
  if (!n["url"]) return f.Err(n, field + ".url", "missing (the API's base URL, or the webhook's URL)");
  if (absl::Status s = ParseText(f, n, field, "url", &d.url); !s.ok()) return s;
  if (!absl::StartsWith(d.url, "http://") && !absl::StartsWith(d.url, "https://"))
    return f.Err(n["url"], field + ".url", "not an http(s) URL");
  for (auto [key, out] : {std::pair<const char*, std::string*>{"space_key", &d.space_key}, {"ancestor_id", &d.ancestor_id},
                          {"parent_page_id", &d.parent_page_id}, {"user", &d.user}, {"title", &d.title_template}})
    if (absl::Status s = ParseText(f, n, field, key, out); !s.ok()) return s;
  if (n["token"]) {
    auto ref = f.Ref(n["token"], field + ".token", /*secret=*/true, {"env", "file"});
    if (!ref.ok()) return ref.status();
    d.token_ref = *ref;
  }
  if (absl::Status s = ParseNumbers(f, n, field, &d); !s.ok()) return s;
  if (absl::Status s = CheckKindFields(f, n, field, d); !s.ok()) return s;
  return d;
}

}  // namespace

absl::Status ParsePublish(const YamlFields& f, const YAML::Node& n, Config* cfg) {
  if (!n.IsSequence() || n.size() > kMaxDestinations)
    return f.Err(n, "publish", absl::StrCat("must be a list of at most ", kMaxDestinations,
                                            " {name, kind, url, token, ...}"));
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string field = absl::StrCat("publish[", i, "]");
    auto d = ParseDestination(f, n[i], field);
    if (!d.ok()) return d.status();
    if (!names.insert(d->name).second)
      return f.Err(n[i]["name"], field + ".name", "\"" + d->name + "\" is declared twice: names must be unique");
    cfg->publish.push_back(std::move(*d));
  }
  return absl::OkStatus();
}

absl::Status ResolvePublishTokens(const std::map<std::string, std::string>& env, Config* cfg) {
  for (PublishDestination& d : cfg->publish) {
    if (!d.token_ref) continue;
    auto token = ResolveValueRef(*d.token_ref, env);
    if (!token.ok()) return token.status();
    d.token = *token;
    RegisterSecret(d.token);
  }
  return absl::OkStatus();
}

}  // namespace failover::coordinator
