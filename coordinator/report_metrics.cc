#include "coordinator/report_metrics.h"

#include "coordinator/wire_enums.h"
#include "failover/unit_state.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace failover::coordinator {
namespace {

using Interval = std::pair<int64_t, int64_t>;
using HostUnit = std::pair<std::string, std::string>;

int64_t JobEnd(const v1::OperationRecord& op) { return op.started_at_unix_us() + std::max<int64_t>(0, op.duration_us()); }

const v1::UnitState* FindState(const google::protobuf::RepeatedPtrField<v1::UnitState>& states, const HostUnit& key) {
  for (const auto& s : states)
    if (s.host() == key.first && s.unit() == key.second) return &s;
  return nullptr;
}

const v1::StepRecord* FindStep(const v1::Report& r, const std::string& id) {
  for (const auto& s : r.steps())
    if (s.id() == id) return &s;
  return nullptr;
}

// Length of the union of the intervals.
int64_t UnionLength(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  int64_t total = 0, cur_start = 0, cur_end = 0;
  bool open = false;
  for (const auto& [a, b] : v) {
    if (b <= a) continue;
    if (open && a <= cur_end) {
      cur_end = std::max(cur_end, b);
      continue;
    }
    if (open) total += cur_end - cur_start;
    cur_start = a;
    cur_end = b;
    open = true;
  }
  return open ? total + cur_end - cur_start : total;
}

// Last agent reading of the run: the end an open-ended downtime is measured to.
int64_t LastAgentTimestamp(const v1::Report& r) {
  int64_t last = 0;
  for (const auto& s : r.final_state()) last = std::max(last, s.read_at_unix_us());
  for (const auto& o : r.operations()) last = std::max(last, JobEnd(o));
  for (const auto& p : r.health()) last = std::max(last, p.finished_at_unix_us());
  return last;
}

int64_t FirstAgentTimestamp(const v1::Report& r) {
  int64_t first = 0;
  auto take = [&first](int64_t t) {
    if (t > 0 && (first == 0 || t < first)) first = t;
  };
  for (const auto& s : r.initial_state()) take(s.read_at_unix_us());
  for (const auto& o : r.operations()) take(o.started_at_unix_us());
  for (const auto& p : r.health()) take(p.finished_at_unix_us());
  return first;
}

// The jobs' points: first job, stopped, active, and the steps involved.
struct JobPoints {
  int64_t first = 0, stopped = 0, active = 0;
  std::string failed;  // "start failed (result timeout)"
  std::set<std::string> steps;
};

JobPoints ScanJobs(const v1::Report& r, const HostUnit& key) {
  JobPoints p;
  for (const auto& o : r.operations()) {
    if (o.host() != key.first || o.unit() != key.second || o.autonomous() || IsSkipped(o)) continue;
    p.steps.insert(o.step_id());
    if (p.first == 0 || o.started_at_unix_us() < p.first) p.first = o.started_at_unix_us();
    const bool done = JobDone(o);
    if (o.operation() == v1::OPERATION_STOP && done && p.stopped == 0) p.stopped = JobEnd(o);
    if (o.operation() == v1::OPERATION_START && done) p.active = JobEnd(o);
    if (!done && p.failed.empty())
      p.failed = absl::StrCat(o.operation() == v1::OPERATION_STOP ? "stop" : "start", " failed (result ",
                              o.result().empty() ? "?" : o.result(), ")");
  }
  return p;
}

// First passing gate probe of the unit's steps on its host at or after `active`; whether any gate exists.
std::pair<int64_t, bool> FirstHealthy(const v1::Report& r, const HostUnit& key, const JobPoints& p) {
  bool gated = false;
  for (const auto& id : p.steps) {
    const v1::StepRecord* s = FindStep(r, id);
    if (s != nullptr && !s->gate_probes().empty()) gated = true;
  }
  int64_t best = 0;
  for (const auto& h : r.health()) {
    if (!h.healthy() || h.host() != key.first || p.steps.count(h.step_id()) == 0) continue;
    if (h.finished_at_unix_us() < p.active) continue;
    if (best == 0 || h.finished_at_unix_us() < best) best = h.finished_at_unix_us();
  }
  return {best, gated};
}

std::string ServiceOf(const v1::Report& r, const JobPoints& p, const std::string& unit) {
  for (const auto& id : p.steps) {
    const v1::StepRecord* s = FindStep(r, id);
    if (s != nullptr && !s->service().empty()) return s->service();
  }
  return unit;
}

int64_t Since(int64_t from, int64_t to) { return from > 0 && to > 0 ? to - from : -1; }

void FillDowntime(const v1::Report& r, const JobPoints& p, bool gated, v1::UnitRecovery* u) {
  if (u->stopped_at_unix_us() == 0) return;
  const int64_t up = gated ? u->healthy_at_unix_us() : u->active_at_unix_us();
  if (up > 0) {
    u->set_downtime_us(up - u->stopped_at_unix_us());
    if (!gated) u->set_note("no gate probe: downtime measured to active");
    return;
  }
  u->set_downtime_open_ended(true);
  u->set_downtime_us(std::max<int64_t>(0, LastAgentTimestamp(r) - u->stopped_at_unix_us()));
  if (!p.failed.empty())
    u->set_note(absl::StrCat(p.failed, ": still down at the end of the run, downtime open-ended"));
  else if (u->active_at_unix_us() == 0)
    u->set_note("never started again: still down at the end of the run, downtime open-ended");
  else
    u->set_note("never healthy: no passing gate probe after the start, downtime open-ended");
}

v1::UnitRecovery UnitMetrics(const v1::Report& r, const HostUnit& key) {
  v1::UnitRecovery u;
  u.set_host(key.first);
  u.set_unit(key.second);
  const JobPoints p = ScanJobs(r, key);
  u.set_service(ServiceOf(r, p, key.second));
  const v1::UnitState* before = FindState(r.initial_state(), key);
  const v1::UnitState* after = FindState(r.final_state(), key);
  // systemd resets NRestarts on an explicit start: after our start job the final count is all new.
  if (after != nullptr && p.active > 0) u.set_restarts_observed(static_cast<int32_t>(after->n_restarts()));
  else if (before != nullptr && after != nullptr)
    u.set_restarts_observed(static_cast<int32_t>(after->n_restarts()) - static_cast<int32_t>(before->n_restarts()));
  u.set_first_job_at_unix_us(p.first);
  int64_t stopped = p.stopped;
  // Already down before the run and started by it: down since its last state change.
  if (stopped == 0 && p.active + p.first > 0 && before != nullptr && !before->active_state().empty() &&
      before->active_state() != "active")
    stopped = before->since_unix_us();
  u.set_stopped_at_unix_us(stopped);
  u.set_active_at_unix_us(p.active);
  const auto [healthy, gated] = FirstHealthy(r, key, p);
  if (p.active > 0) u.set_healthy_at_unix_us(healthy);
  u.set_time_to_stopped_us(p.stopped > 0 ? Since(p.first, p.stopped) : -1);
  u.set_time_to_active_us(Since(p.first, u.active_at_unix_us()));
  u.set_time_to_healthy_us(Since(p.first, u.healthy_at_unix_us()));
  u.set_downtime_us(-1);
  FillDowntime(r, p, gated, &u);
  return u;
}

int64_t Median(std::vector<int64_t> v) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Max and median downtime over the units that went down, into `out` (a service or the run).
template <typename T>
void Aggregate(const std::vector<const v1::UnitRecovery*>& units, T* out) {
  std::vector<int64_t> d;
  uint32_t open = 0;
  for (const auto* u : units) {
    if (u->downtime_us() < 0) continue;
    d.push_back(u->downtime_us());
    if (u->downtime_open_ended()) ++open;
  }
  out->set_units_down(static_cast<uint32_t>(d.size()));
  out->set_open_ended(open);
  out->set_max_downtime_us(d.empty() ? -1 : *std::max_element(d.begin(), d.end()));
  out->set_median_downtime_us(Median(d));
}

std::vector<HostUnit> UnitsOf(const v1::Report& r) {
  std::vector<HostUnit> keys;
  auto add = [&keys](const std::string& h, const std::string& u) {
    if (std::find(keys.begin(), keys.end(), HostUnit{h, u}) == keys.end()) keys.emplace_back(h, u);
  };
  // Units the run issued jobs on, in the order the report lists their jobs.
  for (const auto& o : r.operations())
    if (!o.autonomous() && !IsSkipped(o)) add(o.host(), o.unit());
  return keys;
}

void RunTimes(const v1::Report& r, v1::RecoveryMetrics* m) {
  std::vector<Interval> jobs, all;
  std::map<std::string, Interval> gates;  // step id -> [last job end, last gate probe]
  for (const auto& o : r.operations()) {
    if (r.dry_run() || o.started_at_unix_us() <= 0 || IsSkipped(o)) continue;
    jobs.emplace_back(o.started_at_unix_us(), JobEnd(o));
    auto& g = gates[o.step_id()];
    g.first = std::max(g.first, JobEnd(o));
  }
  for (const auto& h : r.health()) {
    auto it = gates.find(h.step_id());
    if (it != gates.end()) it->second.second = std::max(it->second.second, h.finished_at_unix_us());
  }
  all = jobs;
  for (const auto& [id, g] : gates) all.push_back(g);
  const int64_t first = FirstAgentTimestamp(r), last = LastAgentTimestamp(r);
  m->set_total_run_us(first > 0 && last >= first ? last - first : 0);
  m->set_systemd_us(UnionLength(jobs));
  m->set_gate_wait_us(UnionLength(all) - m->systemd_us());
  m->set_tool_us(std::max<int64_t>(0, m->total_run_us() - m->systemd_us() - m->gate_wait_us()));
}

}  // namespace

bool JobDone(const v1::OperationRecord& op) { return JobResultOf(op) == v1::JOB_RESULT_DONE; }

v1::RecoveryMetrics ComputeRecoveryMetrics(const v1::Report& r) {
  v1::RecoveryMetrics m;
  if (!r.dry_run())
    for (const auto& key : UnitsOf(r)) *m.add_units() = UnitMetrics(r, key);
  std::vector<std::string> order;
  std::map<std::string, std::vector<const v1::UnitRecovery*>> by_service;
  std::vector<const v1::UnitRecovery*> every;
  for (const auto& u : m.units()) {
    if (by_service.count(u.service()) == 0) order.push_back(u.service());
    by_service[u.service()].push_back(&u);
    every.push_back(&u);
  }
  for (const auto& s : order) {
    v1::ServiceRecovery* sr = m.add_services();
    sr->set_service(s);
    Aggregate(by_service[s], sr);
  }
  Aggregate(every, &m);
  RunTimes(r, &m);
  if (r.dry_run()) m.set_note("dry run: nothing was stopped, no downtime");
  else if (m.open_ended() > 0)
    m.set_note(absl::StrCat(m.open_ended(), " unit(s) still down at the end of the run: their downtime is open-ended "
                            "(a lower bound), and so are max and median"));
  return m;
}

std::string RenderMetricsText(const v1::RecoveryMetrics& m) {
  std::string out = "\n== Recovery metrics (from the agents' timestamps) ==\n";
  if (!m.note().empty()) absl::StrAppend(&out, "  note: ", m.note(), "\n");
  const char* bound = m.open_ended() > 0 ? "≥ " : "";
  absl::StrAppend(&out, "  total ", DurationText(m.total_run_us()), ": systemd jobs ", DurationText(m.systemd_us()),
                  ", gates ", DurationText(m.gate_wait_us()), ", the tool ", DurationText(m.tool_us()), "\n");
  absl::StrAppend(&out, "  downtime over ", m.units_down(), " unit(s): max ", m.max_downtime_us() < 0 ? "" : bound,
                  DurationText(m.max_downtime_us()), ", median ", m.median_downtime_us() < 0 ? "" : bound,
                  DurationText(m.median_downtime_us()), "\n");
  for (const auto& s : m.services())
    absl::StrAppend(&out, "  service ", s.service(), ": max ", DurationText(s.max_downtime_us()), ", median ",
                    DurationText(s.median_downtime_us()), s.open_ended() > 0 ? " (open-ended, lower bounds)" : "", "\n");
  for (const auto& u : m.units()) {
    absl::StrAppend(&out, absl::StrFormat("  %-10s %-26s stopped %-10s active %-10s healthy %-10s down %-22s restarts %d",
                                          u.host(), u.unit(), DurationText(u.time_to_stopped_us()),
                                          DurationText(u.time_to_active_us()), DurationText(u.time_to_healthy_us()),
                                          DowntimeText(u), u.restarts_observed()));
    absl::StrAppend(&out, u.note().empty() ? "" : "  (" + u.note() + ")", "\n");
  }
  return out;
}

std::string StepStatusText(v1::StepStatus s) {
  switch (s) {
    case v1::STEP_NOT_RUN: return "NOT RUN";
    case v1::STEP_SUCCEEDED: return "OK";
    case v1::STEP_FAILED: return "FAILED";
    case v1::STEP_DRY_RUN: return "DRY RUN";
    case v1::STEP_RUNNING: return "RUNNING";
    default: return "?";
  }
}

std::string DurationText(int64_t us) {
  if (us < 0) return "-";
  if (us < 1'000'000) return absl::StrFormat("%.1f ms", us / 1e3);
  return absl::StrFormat("%.3f s", us / 1e6);
}

std::string DowntimeText(const v1::UnitRecovery& u) {
  if (u.downtime_us() < 0) return "-";
  return u.downtime_open_ended() ? absl::StrCat("≥ ", DurationText(u.downtime_us()), " (open-ended)")
                                 : DurationText(u.downtime_us());
}

}  // namespace failover::coordinator
