// Report publishing destinations (the seed's checklist: the report goes to Confluence/Notion).
// Only the coordinator's own config declares them: a CLI user names a destination, never a URL,
// so nothing a caller sends can make the coordinator send its tokens elsewhere. The token is a
// secret reference ({env: VAR} | {file: PATH}), resolved at load and redacted from logs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "failover/secret_ref.h"

namespace failover::coordinator {

// Where a report goes: Confluence's "create content" REST API, Notion's "create a page" API, or
// a generic JSON webhook.
enum class PublishKind { kConfluence, kNotion, kWebhook };

struct PublishDestination {
  std::string name;  // what `failoverctl report RUN --publish NAME` names
  PublishKind kind = PublishKind::kWebhook;
  std::string where;  // "file:line: publish[i]" for errors
  // Confluence/Notion: the API's base URL (https://example.atlassian.net/wiki, https://api.notion.com);
  // webhook: the URL the JSON is POSTed to.
  std::string url;
  std::string space_key;       // confluence: the space the page is created in (required)
  std::string ancestor_id;     // confluence: the parent page's id ("" = top level of the space)
  std::string parent_page_id;  // notion: the page the new page is created under (required)
  std::string user;            // confluence: with a user, Basic user:token; without, Bearer token
  std::optional<ValueRef> token_ref;  // required for confluence and notion; optional for webhook
  std::string token;                  // resolved; never logged
  // Page title; {run_id}, {outcome}, {services} and {started} are replaced.
  std::string title_template = "Failover report {run_id} ({outcome})";
  uint32_t timeout_ms = 10000;  // one HTTP request
  uint32_t attempts = 10;       // then the publish is kept as failed
  uint32_t max_age_s = 86400;   // ... or when it is this old
  uint32_t retry_ms = 1000;     // first back-off; doubles per attempt, at most 5 min
};

inline std::string PublishKindName(PublishKind k) {
  switch (k) {
    case PublishKind::kConfluence: return "confluence";
    case PublishKind::kNotion: return "notion";
    case PublishKind::kWebhook: return "webhook";
  }
  return "unknown";
}

}  // namespace failover::coordinator
