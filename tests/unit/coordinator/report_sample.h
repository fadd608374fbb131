// A fixed report for the renderers' golden files and the metrics tests: a rolling restart of
// sls-api on api (recovers) and cerebro (start fails), sls-bot on panel never reached.
#pragma once

#include <cstdint>
#include <string>

#include "failover/v1/report.pb.h"

namespace failover::coordinator::testing {

// 2027-01-15T08:00:00Z; every time below is an offset from it.
inline constexpr int64_t kT0 = 1'800'000'000'000'000;
inline constexpr int64_t kMs = 1000;

inline v1::UnitState* AddState(google::protobuf::RepeatedPtrField<v1::UnitState>* states, const std::string& host,
                               const std::string& unit, const std::string& active, uint32_t restarts, int64_t since,
                               int64_t read_at) {
  v1::UnitState* s = states->Add();
  s->set_host(host);
  s->set_unit(unit);
  s->set_load_state("loaded");
  s->set_active_state(active);
  s->set_sub_state(active == "active" ? "running" : active == "failed" ? "failed" : "dead");
  s->set_main_pid(active == "active" ? 4000 + restarts : 0);
  s->set_result(active == "failed" ? "exit-code" : "success");
  s->set_exec_main_status(active == "failed" ? 1 : 0);
  s->set_n_restarts(restarts);
  s->set_since_unix_us(since);
  s->set_read_at_unix_us(read_at);
  return s;
}

inline void AddOp(v1::Report* r, const std::string& step, const std::string& host, const std::string& unit,
                  v1::Operation op, int64_t started, int64_t duration, const std::string& result,
                  const std::string& detail = "") {
  v1::OperationRecord* o = r->add_operations();
  o->set_step_id(step);
  o->set_host(host);
  o->set_unit(unit);
  o->set_operation(op);
  o->set_started_at_unix_us(started);
  o->set_duration_us(duration);
  o->set_result(result);
  o->set_detail(detail);
  o->set_run_id(r->run_id());
}

// A stop the agent recorded but did not issue: the unit was not running.
inline void AddSkippedStop(v1::Report* r, const std::string& step, const std::string& host, const std::string& unit,
                           int64_t at) {
  AddOp(r, step, host, unit, v1::OPERATION_STOP, at, 0, "skipped-already-inactive", "stop skipped: already inactive");
  v1::OperationRecord* o = r->mutable_operations(r->operations_size() - 1);
  o->set_job_result(v1::JOB_RESULT_ALREADY);
  o->set_skip(v1::SKIP_REASON_ALREADY_STOPPED);
  o->set_skip_reason("already inactive");
}

inline void AddProbe(v1::Report* r, const std::string& step, const std::string& host, const std::string& name,
                     const std::string& target, bool healthy, int64_t finished, const std::string& detail) {
  v1::ProbeResult* p = r->add_health();
  p->set_step_id(step);
  p->set_host(host);
  p->set_name(name);
  p->set_kind("http");
  p->set_target(target);
  p->set_healthy(healthy);
  p->set_finished_at_unix_us(finished);
  p->set_detail(detail);
  p->set_latency_us(3 * kMs);
  p->set_attempts(healthy ? 3 : 10);
}

inline v1::StepRecord* AddStep(v1::Report* r, const std::string& id, const std::string& service, const std::string& host,
                               v1::StepStatus status, int64_t started, int64_t finished, const std::string& gate) {
  v1::StepRecord* s = r->add_steps();
  s->set_id(id);
  s->set_service(service);
  s->set_operation(v1::OPERATION_RESTART);
  s->add_hosts(host);
  s->set_status(status);
  s->set_started_at_unix_us(started);
  s->set_finished_at_unix_us(finished);
  if (!gate.empty()) s->add_gate_probes(gate);
  return s;
}

inline v1::Report SampleReport() {
  v1::Report r;
  r.set_run_id("20270115T080000Z-ab12");
  r.set_mode("rolling");
  r.set_failure_policy("abort");
  r.set_max_parallel(1);
  r.add_services("sls-api");
  r.add_services("sls-bot");
  r.set_config_path("/etc/failover/sls.yaml");
  r.set_started_at_unix_us(kT0);
  r.set_finished_at_unix_us(kT0 + 5200 * kMs);
  r.set_outcome(v1::RUN_ABORTED);
  r.set_summary("ABORTED: step 02-restart-sls-api-w2 failed: start sls-api.service on cerebro: failed");
  AddState(r.mutable_initial_state(), "api", "sls-api.service", "active", 0, kT0 - 3600'000 * kMs, kT0 + 100 * kMs);
  AddState(r.mutable_initial_state(), "cerebro", "sls-api.service", "active", 2, kT0 - 7200'000 * kMs, kT0 + 110 * kMs);
  AddState(r.mutable_initial_state(), "panel", "sls-bot.service", "active", 0, kT0 - 7200'000 * kMs, kT0 + 120 * kMs);
  AddStep(&r, "01-restart-sls-api-w1", "sls-api", "api", v1::STEP_SUCCEEDED, kT0 + 900 * kMs, kT0 + 2100 * kMs, "api-health");
  AddOp(&r, "01-restart-sls-api-w1", "api", "sls-api.service", v1::OPERATION_STOP, kT0 + 1000 * kMs, 120 * kMs, "done");
  AddOp(&r, "01-restart-sls-api-w1", "api", "sls-api.service", v1::OPERATION_START, kT0 + 1130 * kMs, 300 * kMs, "done");
  AddProbe(&r, "01-restart-sls-api-w1", "api", "api-health", "http://127.0.0.1:8080/health", true, kT0 + 2000 * kMs,
           "HTTP 200");
  v1::StepRecord* failed = AddStep(&r, "02-restart-sls-api-w2", "sls-api", "cerebro", v1::STEP_FAILED, kT0 + 2900 * kMs,
                                   kT0 + 3400 * kMs, "api-health");
  failed->set_reason("start sls-api.service on cerebro: failed");
  AddOp(&r, "02-restart-sls-api-w2", "cerebro", "sls-api.service", v1::OPERATION_STOP, kT0 + 3000 * kMs, 100 * kMs, "done");
  AddOp(&r, "02-restart-sls-api-w2", "cerebro", "sls-api.service", v1::OPERATION_START, kT0 + 3200 * kMs, 50 * kMs,
        "failed", "exit-code 1: <config> & \"quoted\" | 'pipe'");
  AddStep(&r, "03-restart-sls-bot", "sls-bot", "panel", v1::STEP_NOT_RUN, 0, 0, "bot-health")
      ->set_reason("the run stopped before this step");
  AddProbe(&r, "", "coordinator", "global-health", "http://10.77.0.11:8080/health", false, kT0 + 4500 * kMs,
           "HTTP 503 (expected 200)");
  AddState(r.mutable_final_state(), "api", "sls-api.service", "active", 0, kT0 + 1430 * kMs, kT0 + 4900 * kMs);
  AddState(r.mutable_final_state(), "cerebro", "sls-api.service", "failed", 3, kT0 + 3250 * kMs, kT0 + 5000 * kMs);
  AddState(r.mutable_final_state(), "panel", "sls-bot.service", "active", 0, kT0 - 7200'000 * kMs, kT0 + 4950 * kMs);
  r.add_errors("cerebro: sls-api.service failed to start; left stopped (failure policy abort)");
  // What users saw: the API down while api restarted, and again from cerebro's failed start on.
  v1::Availability* a = r.mutable_availability();
  a->set_url("http://10.77.0.11:8080/health");
  a->set_interval_ms(100);
  a->set_requests(51);
  a->set_failures(25);
  a->set_observed_us(5100 * kMs);
  v1::AvailabilityWindow* w1 = a->add_windows();
  w1->set_start_unix_us(kT0 + 1000 * kMs);
  w1->set_end_unix_us(kT0 + 1500 * kMs);
  w1->set_duration_us(500 * kMs);
  w1->set_failures(5);
  w1->set_detail("connection refused");
  v1::AvailabilityWindow* w2 = a->add_windows();
  w2->set_start_unix_us(kT0 + 3100 * kMs);
  w2->set_end_unix_us(kT0 + 5100 * kMs);
  w2->set_duration_us(2000 * kMs);
  w2->set_failures(20);
  w2->set_detail("HTTP 503 (expected 200)");
  w2->set_open_ended(true);
  a->set_unavailable_us(2500 * kMs);
  *a->mutable_longest() = *w2;
  return r;
}

inline v1::GateResult* AddGate(google::protobuf::RepeatedPtrField<v1::GateResult>* gates, v1::GatePhase phase,
                               const std::string& name, const std::string& where, const std::string& target,
                               bool passed, int64_t finished, const std::string& message) {
  v1::GateResult* g = gates->Add();
  g->set_name(name);
  g->set_where(where);
  g->set_target(target);
  g->set_kind(where == "coordinator" ? "http" : "tcp");
  g->set_passed(passed);
  g->set_latency_us(passed ? 2 * kMs : 1500 * kMs);
  g->set_attempts(1);
  g->set_message(message);
  g->set_finished_at_unix_us(finished);
  g->set_phase(phase);
  return g;
}

// The sample run with the checklist as gates: --require-healthy --force over two failing
// pre-flight gates, both passing after, and the stop condition worker-ok that tripped.
inline v1::Report SampleReportWithGates() {
  v1::Report r = SampleReport();
  r.set_require_healthy(true);
  r.set_forced(true);
  r.add_forced_failing_gates("health-check");
  r.add_forced_failing_gates("api-port");
  AddGate(r.mutable_gates_before(), v1::GATE_PHASE_BEFORE, "health-check", "coordinator",
          "http://10.77.0.11:8080/health", false, kT0 + 50 * kMs, "HTTP 503 (expected 200)");
  AddGate(r.mutable_gates_before(), v1::GATE_PHASE_BEFORE, "api-port", "api", "127.0.0.1:8080", false, kT0 + 60 * kMs,
          "connection refused");
  AddGate(r.mutable_gates_before(), v1::GATE_PHASE_BEFORE, "monitor-guard", "panel", "sls-monitor.timer", true,
          kT0 + 70 * kMs, "active, last result success");
  AddGate(r.mutable_gates_after(), v1::GATE_PHASE_AFTER, "health-check", "coordinator", "http://10.77.0.11:8080/health",
          true, kT0 + 4500 * kMs, "HTTP 200");
  AddGate(r.mutable_gates_after(), v1::GATE_PHASE_AFTER, "api-port", "api", "127.0.0.1:8080", true, kT0 + 4510 * kMs,
          "connected");
  AddGate(r.mutable_gates_after(), v1::GATE_PHASE_AFTER, "monitor-guard", "panel", "sls-monitor.timer", false,
          kT0 + 4520 * kMs, "sls-monitor.service result exit-code");
  r.add_stop_conditions("worker-ok");
  r.add_stop_conditions("alert-free");
  v1::GateTrip* t = r.mutable_stop_condition();
  t->set_name("worker-ok");
  t->set_where("cerebro");
  t->set_tripped_at_unix_us(kT0 + 3300 * kMs);
  t->set_message("HTTP 500 (expected 200)");
  t->set_steps_started(2);
  return r;
}

}  // namespace failover::coordinator::testing

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace failover::coordinator::testing {

// Compares `actual` with tests/unit/coordinator/golden/<name>. FO_UPDATE_GOLDEN=1 rewrites the
// golden file instead (then review the diff and commit it).
inline void ExpectMatchesGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(FO_GOLDEN_DIR) + "/" + name;
  const char* update = std::getenv("FO_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path, std::ios::trunc) << actual;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << "golden file " << path << " is missing; create it with FO_UPDATE_GOLDEN=1";
  std::stringstream expected;
  expected << in.rdbuf();
  if (expected.str() == actual) return;
  const std::string got = ::testing::TempDir() + "/" + name;
  std::ofstream(got, std::ios::trunc) << actual;
  ADD_FAILURE() << "renderer output differs from " << path << "; see `diff " << path << " " << got
                << "`; if the change is intended, rerun with FO_UPDATE_GOLDEN=1 and commit the golden file";
}

// Runs `command` and returns its exit status and standard output.
inline std::pair<int, std::string> RunCommand(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

inline void WriteFile(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

}  // namespace failover::coordinator::testing
