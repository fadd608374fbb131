#include "coordinator/report_faults.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "coordinator/chaos_planner.h"
#include "coordinator/report_metrics.h"
#include "failover/clock.h"
#include "failover/logging.h"

namespace failover::coordinator {
namespace {

std::string Time(int64_t us) { return us > 0 ? FormatUnixUs(us) : "-"; }
std::string Dur(int64_t us) { return us > 0 ? DurationText(us) : "-"; }

std::vector<int64_t> Mttrs(const v1::Report& r) {
  std::vector<int64_t> out;
  for (const auto& f : r.faults())
    if (f.mttr_us() > 0) out.push_back(f.mttr_us());
  std::sort(out.begin(), out.end());
  return out;
}

std::string KindName(v1::RunKind k) {
  switch (k) {
    case v1::RUN_KIND_INJECT: return "inject";
    case v1::RUN_KIND_CHAOS: return "chaos";
    default: return "failover";
  }
}

std::string MdCell(const std::string& s) {
  if (s.empty()) return "-";
  return absl::StrReplaceAll(s, {{"|", "\\|"}, {"\r\n", " "}, {"\n", " "}, {"\r", " "}});
}

std::string HtmlEsc(const std::string& s) {
  return absl::StrReplaceAll(Redact(s), {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"},
                                         {"'", "&#39;"}, {"://", "&#58;//"}});
}

}  // namespace

int64_t MedianMttrUs(const v1::Report& r) {
  auto m = Mttrs(r);
  return m.empty() ? 0 : m[(m.size() - 1) / 2];
}

int64_t MaxMttrUs(const v1::Report& r) {
  auto m = Mttrs(r);
  return m.empty() ? 0 : m.back();
}

std::vector<std::string> FaultColumns() {
  return {"Round", "Host", "Unit", "Signal", "Injected at", "Detected at", "Recovered at", "Recovered by",
          "Time to detect", "MTTR", "Down at once", "Note"};
}

std::vector<std::vector<std::string>> FaultRows(const v1::Report& r) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& f : r.faults()) {
    std::string note = f.note();
    if (!f.failover_summary().empty()) note = absl::StrCat(note, note.empty() ? "" : "; ", "failover: ", f.failover_summary());
    rows.push_back({absl::StrCat(f.round()), f.host(), f.unit(), f.signal(), Time(f.injected_at_unix_us()),
                    Time(f.detected_at_unix_us()), Time(f.recovered_at_unix_us()), RecoveredByName(f.recovered_by()),
                    Dur(f.time_to_detect_us()), Dur(f.mttr_us()),
                    f.down_at_once() > 0 ? absl::StrCat(f.down_at_once()) : "-", note});
  }
  return rows;
}

std::vector<std::pair<std::string, std::string>> FaultSummaryRows(const v1::Report& r) {
  int injected = 0, recovered = 0;
  for (const auto& f : r.faults()) {
    injected += f.injected_at_unix_us() > 0;
    recovered += f.recovered_by() == v1::RECOVERED_BY_SYSTEMD_RESTART || f.recovered_by() == v1::RECOVERED_BY_FAILOVER;
  }
  std::vector<std::pair<std::string, std::string>> rows = {{"Kind", KindName(r.kind())}};
  if (r.kind() == v1::RUN_KIND_CHAOS) {
    rows.push_back({"Seed", absl::StrCat(r.chaos_seed(), " (same seed, same picks: --seed ", r.chaos_seed(), ")")});
    rows.push_back({"Rounds", absl::StrCat(r.chaos_rounds())});
    rows.push_back({"Max down at once", absl::StrCat(r.chaos_max_down())});
  }
  rows.push_back({"Faults injected", absl::StrCat(injected)});
  rows.push_back({"Recovered", absl::StrCat(recovered)});
  rows.push_back({"Median MTTR", Dur(MedianMttrUs(r))});
  rows.push_back({"Max MTTR", Dur(MaxMttrUs(r))});
  return rows;
}

std::string RenderFaultsText(const v1::Report& r) {
  if (r.faults().empty()) return "";
  std::string out = "\n== Injected faults ==\n";
  for (const auto& [k, v] : FaultSummaryRows(r)) absl::StrAppend(&out, absl::StrFormat("  %-17s %s\n", k + ":", v));
  for (const auto& row : FaultRows(r))
    absl::StrAppend(&out, absl::StrFormat("  round %s: %s on %s, SIG%s\n", row[0], row[2], row[1], row[3]),
                    absl::StrFormat("    injected %s, detected %s, recovered %s by %s\n", row[4], row[5], row[6], row[7]),
                    absl::StrFormat("    time to detect %s, MTTR %s, down at once %s%s\n", row[8], row[9], row[10],
                                    row[11].empty() ? "" : "\n    " + row[11]));
  return out;
}

std::string RenderFaultsMarkdown(const v1::Report& r) {
  if (r.faults().empty()) return "";
  std::string out = "\n## Injected faults\n\n_Times from the agents' clocks; MTTR = recovered − injected._\n\n";
  absl::StrAppend(&out, "| Fault run | Value |\n|---|---|\n");
  for (const auto& [k, v] : FaultSummaryRows(r)) absl::StrAppend(&out, "| ", MdCell(k), " | ", MdCell(v), " |\n");
  absl::StrAppend(&out, "\n| ", absl::StrJoin(FaultColumns(), " | "), " |\n|");
  for (size_t i = 0; i < FaultColumns().size(); ++i) absl::StrAppend(&out, "---|");
  absl::StrAppend(&out, "\n");
  for (const auto& row : FaultRows(r)) {
    std::vector<std::string> cells;
    for (const auto& c : row) cells.push_back(MdCell(c));
    absl::StrAppend(&out, "| ", absl::StrJoin(cells, " | "), " |\n");
  }
  return out;
}

namespace {

void FaultRect(std::string* out, double x0, double x1, int y, const char* cls, const char* colour,
               const std::string& title) {
  absl::StrAppend(out, absl::StrFormat("<rect class=\"bar %s\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"18\" "
                                       "fill=\"%s\"><title>%s</title></rect>\n",
                                       cls, x0, y + 4, std::max(2.0, x1 - x0), colour, HtmlEsc(title)));
}

// One row per injected fault: a mark at the kill, undetected until detected, down until recovered.
void FaultTimeline(std::string* out, const v1::Report& r) {
  int64_t t0 = 0, t1 = 0;
  for (const auto& f : r.faults()) {
    if (f.injected_at_unix_us() <= 0) continue;
    t0 = t0 == 0 ? f.injected_at_unix_us() : std::min(t0, f.injected_at_unix_us());
    t1 = std::max({t1, f.detected_at_unix_us(), f.recovered_at_unix_us(), f.injected_at_unix_us() + 1});
  }
  if (t0 == 0) return absl::StrAppend(out, "<p class=\"note\">(no fault was injected)</p>\n");
  constexpr int kLabel = 260, kWidth = 860, kRow = 26;
  auto x = [&](int64_t t) { return kLabel + kWidth * double(t - t0) / double(t1 - t0); };
  const int height = 24 + kRow * r.faults_size() + 4;
  absl::StrAppend(out, absl::StrFormat("<svg id=\"fault-timeline\" width=\"%d\" height=\"%d\">\n", kLabel + kWidth + 10,
                                       height));
  for (int i = 0; i < r.faults_size(); ++i) {
    const auto& f = r.faults(i);
    const int y = 24 + i * kRow;
    absl::StrAppend(out, absl::StrFormat("<text x=\"4\" y=\"%d\" font-size=\"12\">#%d %s %s</text>\n", y + kRow - 9,
                                         f.round(), HtmlEsc(f.host()), HtmlEsc(f.unit())));
    if (f.injected_at_unix_us() <= 0) continue;
    const int64_t detected = f.detected_at_unix_us() > 0 ? f.detected_at_unix_us() : t1;
    const int64_t recovered = f.recovered_at_unix_us() > 0 ? f.recovered_at_unix_us() : t1;
    FaultRect(out, x(f.injected_at_unix_us()), x(detected), y, "fault-undetected", "#8b0000",
              absl::StrCat("SIG", f.signal(), " sent; detected after ", Dur(f.time_to_detect_us())));
    FaultRect(out, x(detected), x(recovered), y, "fault-down", "#f0ad4e",
              absl::StrCat("down until recovered by ", RecoveredByName(f.recovered_by()), "; MTTR ", Dur(f.mttr_us())));
    absl::StrAppend(out, absl::StrFormat("<line class=\"fault-mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                                         "stroke=\"#d9534f\" stroke-width=\"3\"><title>fault injected %s</title></line>\n",
                                         x(f.injected_at_unix_us()), y, x(f.injected_at_unix_us()), y + kRow,
                                         HtmlEsc(Time(f.injected_at_unix_us()))));
  }
  absl::StrAppend(out, "</svg>\n");
}

}  // namespace

std::string RenderFaultsHtml(const v1::Report& r) {
  if (r.faults().empty()) return "";
  std::string out = "<h2>Injected faults</h2>\n<p class=\"note\">Times from the agents' clocks; MTTR = recovered − "
                    "injected. Red mark: the kill; dark: not yet detected; amber: down until recovered.</p>\n";
  FaultTimeline(&out, r);
  absl::StrAppend(&out, "<table>\n");
  for (const auto& [k, v] : FaultSummaryRows(r))
    absl::StrAppend(&out, "<tr><th>", HtmlEsc(k), "</th><td>", HtmlEsc(v), "</td></tr>\n");
  absl::StrAppend(&out, "</table>\n<table>\n<tr>");
  for (const auto& h : FaultColumns()) absl::StrAppend(&out, "<th>", HtmlEsc(h), "</th>");
  absl::StrAppend(&out, "</tr>\n");
  for (const auto& row : FaultRows(r)) {
    absl::StrAppend(&out, "<tr>");
    for (const auto& c : row) absl::StrAppend(&out, "<td>", HtmlEsc(c.empty() ? "-" : c), "</td>");
    absl::StrAppend(&out, "</tr>\n");
  }
  absl::StrAppend(&out, "</table>\n");
  return out;
}

}  // namespace failover::coordinator
