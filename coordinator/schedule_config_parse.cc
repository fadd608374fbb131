#include "coordinator/schedule_config_parse.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::coordinator {
namespace {

constexpr uint32_t kMaxLeadMs = 24u * 3600 * 1000;
constexpr size_t kMaxWindows = 64;
constexpr size_t kMaxNotifications = 16;

absl::Status ParseWindowDays(const YamlFields& f, const YAML::Node& n, const std::string& field,
                             MaintenanceWindow* w) {
  auto days = f.StringList(n, field);
  if (!days.ok()) return days.status();
  for (size_t i = 0; i < days->size(); ++i) {
    auto d = ParseWeekday((*days)[i]);
    if (!d.ok()) return f.Err(n[i], absl::StrCat(field, "[", i, "]"), std::string(d.status().message()));
    w->days.push_back(*d);
  }
  return absl::OkStatus();
}

absl::StatusOr<MaintenanceWindow> ParseWindow(const YamlFields& f, const YAML::Node& n, const std::string& field) {
  if (absl::Status s = f.CheckKeys(n, field, {"days", "start", "end", "tz"}); !s.ok()) return s;
  if (!n["start"] || !n["end"]) return f.Err(n, field, "needs start and end (e.g. start: \"02:00\", end: \"04:00\")");
  MaintenanceWindow w;
  w.where = f.Where(n, field);
  if (n["days"])
    if (absl::Status s = ParseWindowDays(f, n["days"], field + ".days", &w); !s.ok()) return s;
  for (auto [key, dst] : {std::pair<const char*, int*>{"start", &w.start_s}, {"end", &w.end_s}}) {
    auto text = f.String(n[key], field + "." + key);
    if (!text.ok()) return text.status();
    auto t = ParseTimeOfDay(*text);
    if (!t.ok()) return f.Err(n[key], field + "." + key, std::string(t.status().message()));
    *dst = *t;
  }
  if (w.start_s == w.end_s) return f.Err(n["end"], field + ".end", "equals start: the window would be empty");
  if (n["tz"]) {
    auto name = f.String(n["tz"], field + ".tz");
    if (!name.ok()) return name.status();
    auto tz = LoadZone(*name);
    if (!tz.ok()) return f.Err(n["tz"], field + ".tz", std::string(tz.status().message()));
    w.tz_name = *name;
    w.tz = *tz;
  }
  return w;
}

absl::Status ParseEvents(const YamlFields& f, const YAML::Node& n, const std::string& field, NotificationConfig* c) {
  auto events = f.StringList(n, field);
  if (!events.ok()) return events.status();
  c->events.clear();
  for (size_t i = 0; i < events->size(); ++i) {
    const std::string& e = (*events)[i];
    if (e == "start") c->events.insert(NotifyEvent::kStart);
    else if (e == "end") c->events.insert(NotifyEvent::kEnd);
    else if (e == "failure") c->events.insert(NotifyEvent::kFailure);
    else return f.Err(n[i], absl::StrCat(field, "[", i, "]"), "\"" + e + "\" is not an event (start, end, failure)");
  }
  return absl::OkStatus();
}

absl::Status ParseNotifyNumbers(const YamlFields& f, const YAML::Node& n, const std::string& field,
                                NotificationConfig* c) {
  if (n["lead_time_ms"]) {
    auto v = f.Ms(n["lead_time_ms"], field + ".lead_time_ms", kMaxLeadMs);
    if (!v.ok()) return v.status();
    c->lead_time_ms = *v;
  }
  if (n["timeout_ms"]) {
    auto v = f.Ms(n["timeout_ms"], field + ".timeout_ms", 60000);
    if (!v.ok()) return v.status();
    c->timeout_ms = *v;
  }
  if (n["attempts"]) {
    auto v = f.Count(n["attempts"], field + ".attempts", 1, 10);
    if (!v.ok()) return v.status();
    c->attempts = *v;
  }
  return absl::OkStatus();
}

absl::StatusOr<NotificationConfig> ParseNotification(const YamlFields& f, const YAML::Node& n,
                                                     const std::string& field) {
  if (absl::Status s = f.CheckKeys(n, field, {"name", "url", "format", "events", "lead_time_ms", "timeout_ms",
                                              "attempts"});
      !s.ok())
    return s;
  NotificationConfig c;
  auto name = f.String(n["name"], field + ".name");
  if (!name.ok()) return name.status();
  c.name = *name;
  if (!n["url"]) return f.Err(n, field + ".url", "missing (e.g. {env: SLACK_WEBHOOK_URL})");
  auto url = f.Ref(n["url"], field + ".url", /*secret=*/false);
  if (!url.ok()) return url.status();
  c.url_ref = *url;
  if (n["format"]) {
    auto fmt = f.String(n["format"], field + ".format");
    if (!fmt.ok()) return fmt.status();
    if (*fmt != "slack" && *fmt != "json") return f.Err(n["format"], field + ".format", "must be slack or json");
    c.format = *fmt == "slack" ? NotifyFormat::kSlack : NotifyFormat::kJson;
  }
  if (n["events"])
    if (absl::Status s = ParseEvents(f, n["events"], field + ".events", &c); !s.ok()) return s;
  if (absl::Status s = ParseNotifyNumbers(f, n, field, &c); !s.ok()) return s;
  return c;
}

}  // namespace

absl::Status ParseWindows(const YamlFields& f, const YAML::Node& root, Config* cfg) {
  if (const YAML::Node p = root["on_window_end"]) {
    auto v = f.String(p, "on_window_end");
    if (!v.ok()) return v.status();
    if (*v != "stop" && *v != "finish") return f.Err(p, "on_window_end", "must be stop or finish");
    cfg->on_window_end = *v == "stop" ? WindowEndPolicy::kStop : WindowEndPolicy::kFinish;
  }
  const YAML::Node w = root["windows"];
  if (!w) return absl::OkStatus();
  if (!w.IsSequence() || w.size() == 0 || w.size() > kMaxWindows)
    return f.Err(w, "windows", absl::StrCat("must be a list of 1..", kMaxWindows, " {days, start, end, tz}"));
  for (size_t i = 0; i < w.size(); ++i) {
    auto win = ParseWindow(f, w[i], absl::StrCat("windows[", i, "]"));
    if (!win.ok()) return win.status();
    cfg->windows.push_back(std::move(*win));
  }
  return absl::OkStatus();
}

absl::Status ParseNotifications(const YamlFields& f, const YAML::Node& n, Config* cfg) {
  if (!n.IsSequence() || n.size() > kMaxNotifications)
    return f.Err(n, "notifications", absl::StrCat("must be a list of at most ", kMaxNotifications,
                                                  " {name, url, format, events}"));
  for (size_t i = 0; i < n.size(); ++i) {
    auto c = ParseNotification(f, n[i], absl::StrCat("notifications[", i, "]"));
    if (!c.ok()) return c.status();
    cfg->notifications.push_back(std::move(*c));
  }
  return absl::OkStatus();
}

absl::Status ResolveNotificationUrls(const std::map<std::string, std::string>& env, Config* cfg) {
  for (NotificationConfig& c : cfg->notifications) {
    auto url = ResolveValueRef(c.url_ref, env);
    if (!url.ok()) return url.status();
    if (!absl::StartsWith(*url, "http://") && !absl::StartsWith(*url, "https://"))
      return absl::InvalidArgumentError(absl::StrCat(c.url_ref.where, ": not an http(s) URL"));
    c.url = *url;
    RegisterSecret(c.url);  // webhook URLs often carry their credential (Slack)
  }
  return absl::OkStatus();
}

}  // namespace failover::coordinator
