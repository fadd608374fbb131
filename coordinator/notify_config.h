// Webhook notifications of runs (the seed's "notificación previa"): to whom, in which body
// format, on which events. Only the coordinator's own config may declare them (a CLI user must
// not make the coordinator post to a URL of its choosing); the URL is a secret reference (Slack
// webhook URLs are credentials) and is redacted from logs.
#pragma once

#include <set>
#include <string>

#include "failover/secret_ref.h"

namespace failover::coordinator {

enum class NotifyFormat { kSlack, kJson };
enum class NotifyEvent { kStart, kEnd, kFailure };

struct NotificationConfig {
  std::string name;                // for logs: "ops-slack"
  ValueRef url_ref;                // {env: VAR} | {file: PATH} | "https://..."
  std::string url;                 // resolved; never logged
  NotifyFormat format = NotifyFormat::kJson;
  std::set<NotifyEvent> events = {NotifyEvent::kStart, NotifyEvent::kEnd, NotifyEvent::kFailure};
  uint32_t lead_time_ms = 0;       // scheduled runs: notice this long before acting
  uint32_t timeout_ms = 2000;      // one attempt
  uint32_t attempts = 4;           // with back-off 250 ms, 500 ms, 1 s, ...
};

std::string NotifyEventName(NotifyEvent e);

}  // namespace failover::coordinator
