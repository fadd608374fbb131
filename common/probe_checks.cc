#include "failover/probe_checks.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace failover {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr int kMaxNamed = 5;  // firing alerts / series named in a detail

bool ParseJson(const std::string& text, Value* out) {
  return google::protobuf::util::JsonStringToMessage(text, out).ok();
}

// A JSON scalar as text: strings as is, numbers without a trailing ".0", true/false/null.
std::string ScalarText(const Value& v) {
  switch (v.kind_case()) {
    case Value::kStringValue: return v.string_value();
    case Value::kBoolValue: return v.bool_value() ? "true" : "false";
    case Value::kNullValue: return "null";
    case Value::kNumberValue: {
      const double d = v.number_value();
      if (d == static_cast<double>(static_cast<int64_t>(d))) return std::to_string(static_cast<int64_t>(d));
      return absl::StrCat(d);
    }
    case Value::kStructValue: return "an object";
    case Value::kListValue: return "a list";
    default: return "nothing";
  }
}

const Value* Field(const Value& v, const std::string& key) {
  if (v.kind_case() != Value::kStructValue) return nullptr;
  auto it = v.struct_value().fields().find(key);
  return it == v.struct_value().fields().end() ? nullptr : &it->second;
}

std::string Quoted(const std::string& s) { return absl::StrCat("\"", s.substr(0, 200), "\""); }

std::string Labels(const Value* labels) {
  if (labels == nullptr || labels->kind_case() != Value::kStructValue) return "{}";
  std::vector<std::string> parts;
  for (const auto& [k, v] : labels->struct_value().fields()) parts.push_back(absl::StrCat(k, "=", Quoted(ScalarText(v))));
  std::sort(parts.begin(), parts.end());
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

// "status success" answer's data, or the reason the answer is unusable.
const Value* PrometheusData(const Value& root, std::string* why) {
  const Value* status = Field(root, "status");
  if (status == nullptr || status->string_value() != "success") {
    const Value* err = Field(root, "error");
    *why = absl::StrCat("answer status is ", status == nullptr ? "missing" : Quoted(ScalarText(*status)),
                        err == nullptr ? "" : absl::StrCat(": ", ScalarText(*err).substr(0, 200)), ", want \"success\"");
    return nullptr;
  }
  const Value* data = Field(root, "data");
  if (data == nullptr) *why = "answer has no data";
  return data;
}

bool AlertMatches(const v1::PrometheusProbe& p, const Value& alert) {
  const Value* labels = Field(alert, "labels");
  const Value* name = labels == nullptr ? nullptr : Field(*labels, "alertname");
  if (!p.alert().empty() && (name == nullptr || name->string_value() != p.alert())) return false;
  for (const auto& [k, want] : p.match()) {
    const Value* got = labels == nullptr ? nullptr : Field(*labels, k);
    if (got == nullptr || ScalarText(*got) != want) return false;
  }
  const Value* state = Field(alert, "state");
  const std::string s = state == nullptr ? "" : state->string_value();
  return s == "firing" || (p.include_pending() && s == "pending");
}

ProbeVerdict Named(const std::string& what, const std::vector<std::string>& items, size_t total) {
  ProbeVerdict v;
  if (total == 0) {
    v.healthy = true;
    v.detail = absl::StrCat("no ", what);
    return v;
  }
  v.detail = absl::StrCat(total, " ", what, ": ", absl::StrJoin(items, "; "),
                          total > items.size() ? absl::StrCat("; and ", total - items.size(), " more") : "");
  return v;
}

}  // namespace

bool HasBodyAssertion(const v1::HttpProbe& h) { return !h.body_contains().empty() || !h.json_field().empty(); }

uint32_t BodyLimit(const v1::HttpProbe& h) {
  return h.max_body_bytes() == 0 ? kDefaultMaxBodyBytes : std::min(h.max_body_bytes(), kMaxBodyBytes);
}

ProbeVerdict CheckHttpBody(const v1::HttpProbe& h, const std::string& body) {
  ProbeVerdict v;
  if (!h.body_contains().empty() && body.find(h.body_contains()) == std::string::npos) {
    v.detail = absl::StrCat("body does not contain ", Quoted(h.body_contains()));
    return v;
  }
  if (!h.json_field().empty()) {
    Value root;
    if (!ParseJson(body, &root)) {
      v.detail = absl::StrCat("body is not JSON (json field ", h.json_field(), " wanted)");
      return v;
    }
    const Value* cur = &root;
    for (const auto& part : absl::StrSplit(h.json_field(), '.')) {
      cur = Field(*cur, std::string(part));
      if (cur == nullptr) {
        v.detail = absl::StrCat("json field ", h.json_field(), " is missing");
        return v;
      }
    }
    if (ScalarText(*cur) != h.json_equals()) {
      v.detail = absl::StrCat("json field ", h.json_field(), " is ", Quoted(ScalarText(*cur)), ", want ",
                              Quoted(h.json_equals()));
      return v;
    }
  }
  v.healthy = true;
  v.detail = h.json_field().empty() ? "body matches" : absl::StrCat("json field ", h.json_field(), " is ", Quoted(h.json_equals()));
  return v;
}

std::string PrometheusRequestPath(const v1::PrometheusProbe& p) {
  if (p.query().empty()) return "/api/v1/alerts";
  std::string q;
  for (unsigned char c : p.query()) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      q.push_back(static_cast<char>(c));
    } else {
      static const char* kHex = "0123456789ABCDEF";
      q += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return "/api/v1/query?query=" + q;
}

ProbeVerdict EvaluatePrometheusAnswer(const v1::PrometheusProbe& p, const std::string& body) {
  Value root;
  if (!ParseJson(body, &root)) return {false, absl::StrCat("answer is not JSON: ", Quoted(body.substr(0, 80)))};
  std::string why;
  const Value* data = PrometheusData(root, &why);
  if (data == nullptr) return {false, why};
  const Value* list = Field(*data, p.query().empty() ? "alerts" : "result");
  if (list == nullptr || list->kind_case() != Value::kListValue)
    return {false, absl::StrCat("answer has no data.", p.query().empty() ? "alerts" : "result", " list")};
  std::vector<std::string> named;
  size_t total = 0;
  for (const Value& item : list->list_value().values()) {
    if (p.query().empty()) {
      if (!AlertMatches(p, item)) continue;
      const Value* state = Field(item, "state");
      if (named.size() < kMaxNamed)
        named.push_back(absl::StrCat(Labels(Field(item, "labels")), " ", state == nullptr ? "" : state->string_value()));
    } else if (named.size() < kMaxNamed) {
      named.push_back(Labels(Field(item, "metric")));
    }
    ++total;
  }
  return Named(p.query().empty() ? "matching alert(s) firing" : "series in the query's answer", named, total);
}

std::string ShortDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return absl::StrCat(ms, "ms");
  if (ms < 60'000) return absl::StrCat(ms / 1000, "s");
  if (ms < 3'600'000) return absl::StrCat(ms / 60'000, "m");
  if (ms < 86'400'000) return absl::StrCat(ms / 3'600'000, "h");
  return absl::StrCat(ms / 86'400'000, "d");
}

ProbeVerdict EvaluateResticSnapshots(const v1::ResticProbe& p, const std::string& json, int64_t now_unix_us) {
  Value root;
  if (!ParseJson(json, &root) || root.kind_case() != Value::kListValue)
    return {false, absl::StrCat("restic's answer is not a JSON list: ", Quoted(json.substr(0, 80)))};
  // Flat list of snapshots, or (with grouping) a list of {group_key, snapshots: [...]}.
  std::vector<const Value*> snaps;
  for (const Value& item : root.list_value().values()) {
    const Value* inner = Field(item, "snapshots");
    if (inner != nullptr && inner->kind_case() == Value::kListValue) {
      for (const Value& s : inner->list_value().values()) snaps.push_back(&s);
    } else {
      snaps.push_back(&item);
    }
  }
  bool found = false;
  absl::Time latest;
  for (const Value* s : snaps) {
    const Value* t = Field(*s, "time");
    absl::Time at;
    std::string err;
    if (t == nullptr || !absl::ParseTime(absl::RFC3339_full, t->string_value(), &at, &err)) continue;
    if (!found || at > latest) latest = at;
    found = true;
  }
  if (!found) return {false, "no snapshot"};
  const int64_t age_ms = (now_unix_us - absl::ToUnixMicros(latest)) / 1000;
  const std::string when = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", latest, absl::UTCTimeZone());
  if (age_ms > static_cast<int64_t>(p.max_age_ms()))
    return {false, absl::StrCat("latest snapshot ", when, " is ", ShortDuration(age_ms), " old, max ",
                                ShortDuration(static_cast<int64_t>(p.max_age_ms())))};
  return {true, absl::StrCat("latest snapshot ", when, " is ", ShortDuration(age_ms), " old")};
}

}  // namespace failover
