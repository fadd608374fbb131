#include "coordinator/notify_message.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/run_executor.h"
#include "failover/clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace failover::coordinator {

std::string NotifyEventName(NotifyEvent e) {
  switch (e) {
    case NotifyEvent::kStart: return "start";
    case NotifyEvent::kEnd: return "end";
    case NotifyEvent::kFailure: return "failure";
  }
  return "unknown";
}

namespace {

std::string Headline(const RunNotice& n) {
  const std::string what = n.execute ? "failover" : "failover dry run";
  if (n.event == NotifyEvent::kStart)
    return absl::StrCat(what, " ", n.run_id, " of ", n.services, ": ", n.note.empty() ? "starting" : n.note);
  const v1::Report& r = *n.report;
  std::string s = absl::StrCat(what, " ", n.run_id, " of ", n.services, ": ", OutcomeName(r.outcome()));
  if (!r.summary().empty()) absl::StrAppend(&s, " — ", r.summary());
  return s;
}

std::string SlackText(const RunNotice& n) {
  std::string text = Headline(n);
  if (n.report != nullptr && !n.report->files().empty()) absl::StrAppend(&text, "\nreport: ", n.report->files(0));
  if (n.report != nullptr && n.report->has_metrics() && n.report->metrics().units_down() > 0)
    absl::StrAppend(&text, "\nmax downtime: ", n.report->metrics().max_downtime_us() / 1000.0, " ms");
  return text;
}

void Set(google::protobuf::Struct* s, const std::string& k, const std::string& v) {
  (*s->mutable_fields())[k].set_string_value(v);
}

google::protobuf::Struct JsonBody(const RunNotice& n) {
  google::protobuf::Struct s;
  Set(&s, "event", NotifyEventName(n.event));
  Set(&s, "run_id", n.run_id);
  Set(&s, "services", n.services);
  (*s.mutable_fields())["execute"].set_bool_value(n.execute);
  Set(&s, "text", Headline(n));
  if (!n.note.empty()) Set(&s, "note", n.note);
  if (n.report == nullptr) return s;
  const v1::Report& r = *n.report;
  Set(&s, "outcome", OutcomeName(r.outcome()));
  Set(&s, "summary", r.summary());
  Set(&s, "started_at", FormatUnixUs(r.started_at_unix_us()));
  Set(&s, "finished_at", FormatUnixUs(r.finished_at_unix_us()));
  auto* files = (*s.mutable_fields())["report_files"].mutable_list_value();
  for (const std::string& f : r.files()) files->add_values()->set_string_value(f);
  auto* errors = (*s.mutable_fields())["errors"].mutable_list_value();
  for (const std::string& e : r.errors()) errors->add_values()->set_string_value(e);
  if (r.has_metrics())
    (*s.mutable_fields())["max_downtime_ms"].set_number_value(r.metrics().max_downtime_us() / 1000.0);
  return s;
}

}  // namespace

std::string RenderNotice(NotifyFormat format, const RunNotice& n) {
  google::protobuf::Struct body;
  if (format == NotifyFormat::kSlack) {
    Set(&body, "text", SlackText(n));
  } else {
    body = JsonBody(n);
  }
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(body, &out);
  return out;
}

}  // namespace failover::coordinator
