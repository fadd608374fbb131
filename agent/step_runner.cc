#include "step_runner.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"
#include "failover/unit_state.h"
#include "failover/worker_pool.h"

namespace failover::agent {
namespace {

v1::Operation ToOperation(JobKind k) { return k == JobKind::kStart ? v1::OPERATION_START : v1::OPERATION_STOP; }
const char* JobName(JobKind k) { return OperationName(ToOperation(k)); }

// A unit left the state the gate found it in: down, or restarted by systemd (NRestarts or
// MainPID moved). "" when it stayed up.
std::string SettleBreak(const v1::UnitState& before, const v1::UnitState& after) {
  const std::string now = absl::StrCat(after.active_state(), "/", after.sub_state(), " (result ", after.result(), ")");
  if (after.n_restarts() != before.n_restarts() || after.main_pid() != before.main_pid())
    return absl::StrCat("restarted (NRestarts ", before.n_restarts(), " -> ", after.n_restarts(), ", MainPID ",
                        before.main_pid(), " -> ", after.main_pid(), ") and is ", now);
  if (after.active_state() != "active") return absl::StrCat("is ", now);
  return "";
}

// A read that failed compares as state "unknown" (never equal to what the gate saw).
v1::UnitState OrUnknown(const std::string& unit, const absl::StatusOr<v1::UnitState>& st) {
  if (st.ok()) return *st;
  v1::UnitState unknown;
  unknown.set_unit(unit);
  unknown.set_active_state("unknown");
  unknown.set_result(std::string(st.status().message()));
  return unknown;
}

std::vector<v1::UnitState> KnownOrUnknown(const v1::ExecuteRequest& req,
                                          const std::vector<absl::StatusOr<v1::UnitState>>& read) {
  std::vector<v1::UnitState> out;
  for (size_t i = 0; i < read.size(); ++i) out.push_back(OrUnknown(req.units(static_cast<int>(i)), read[i]));
  return out;
}

}  // namespace

v1::JobResult JobResultOfText(const std::string& result) {
  if (result == "done") return v1::JOB_RESULT_DONE;
  if (result == "would-run") return v1::JOB_RESULT_WOULD_RUN;
  if (result.rfind("skipped-already-", 0) == 0) return v1::JOB_RESULT_ALREADY;
  if (result == "timeout") return v1::JOB_RESULT_TIMEOUT;
  if (result == "start-limit-hit") return v1::JOB_RESULT_START_LIMIT_HIT;
  if (result == "error" || result == "refused") return v1::JOB_RESULT_ERROR;
  return v1::JOB_RESULT_FAILED;
}

std::string SettleFailure(const std::string& host, uint32_t healthy_for_ms, const std::vector<v1::UnitState>& before,
                          const std::vector<v1::UnitState>& after) {
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    const std::string why = SettleBreak(before[i], after[i]);
    if (!why.empty())
      return absl::StrCat("unit ", before[i].unit(), " on host ", host, " did not stay up for ", healthy_for_ms,
                          " ms after its gate passed: it ", why);
  }
  return "";
}

namespace {

}  // namespace

absl::Status ValidateId(const std::string& what, const std::string& id) {
  if (id.empty() || id.size() > kMaxIdLength)
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1..", kMaxIdLength, " characters"));
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == ':' || c == '-';
    if (!ok) return absl::InvalidArgumentError(absl::StrCat(what, " may hold only [A-Za-z0-9._:-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateExecuteRequest(const v1::ExecuteRequest& req, const UnitAllowlist& allowlist) {
  if (absl::Status s = ValidateId("run_id", req.run_id()); !s.ok()) return s;
  if (absl::Status s = ValidateId("step_id", req.step_id()); !s.ok()) return s;
  if (req.operation() != v1::OPERATION_STOP && req.operation() != v1::OPERATION_START &&
      req.operation() != v1::OPERATION_RESTART)
    return absl::InvalidArgumentError("operation must be STOP, START or RESTART");
  if (req.units().empty()) return absl::InvalidArgumentError("units is empty: name at least one unit");
  if (req.units_size() > kMaxUnitsPerRequest)
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxUnitsPerRequest, " units per step"));
  for (const auto& u : req.units()) {
    if (absl::Status s = allowlist.Check(u); !s.ok()) return s;
  }
  if (req.job_timeout_ms() == 0 || req.job_timeout_ms() > kMaxJobTimeoutMs)
    return absl::InvalidArgumentError(absl::StrCat("job_timeout_ms must be 1..", kMaxJobTimeoutMs));
  if (req.lease_ms() == 0 || req.lease_ms() > kMaxLeaseMs)
    return absl::InvalidArgumentError(absl::StrCat("lease_ms must be 1..", kMaxLeaseMs));
  if (req.probes_size() > kMaxProbesPerRequest)
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxProbesPerRequest, " probes per step"));
  for (const auto& p : req.probes()) {
    if (absl::Status s = ValidateProbeSpec(p, allowlist); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckLeaseCoversUnitTimeouts(const v1::ExecuteRequest& req, const v1::UnitState& st) {
  if (req.operation() == v1::OPERATION_START) return absl::OkStatus();  // holds nothing
  // What one stop and one start of the unit can take as the agent waits for them: the unit's own
  // timeout, capped by the step's job timeout (systemd's 0 means unknown: the job timeout).
  const uint64_t job_us = uint64_t{req.job_timeout_ms()} * 1000;
  auto bound = [job_us](uint64_t unit_us) { return unit_us == 0 ? job_us : std::min(unit_us, job_us); };
  const uint64_t need_us = bound(st.timeout_stop_us()) + bound(st.timeout_start_us());
  if (uint64_t{req.lease_ms()} * 1000 >= need_us) return absl::OkStatus();
  auto ms = [](uint64_t us) {
    return us == UINT64_MAX ? std::string("infinity") : absl::StrCat(us / 1000, " ms");
  };
  return absl::FailedPreconditionError(absl::StrCat(
      "lease_ms ", req.lease_ms(), " is shorter than what a stop and a start of ", st.unit(), " can take: ",
      "TimeoutStopUSec ", ms(st.timeout_stop_us()), " + TimeoutStartUSec ", ms(st.timeout_start_us()),
      " (each capped by job_timeout_ms ", req.job_timeout_ms(), ") = ", need_us / 1000,
      " ms; raise defaults.lease_ms or lower the unit's timeouts; nothing was changed"));
}

v1::AgentEvent StepRunner::Event(v1::AgentEvent::Kind kind, const std::string& unit) {
  v1::AgentEvent e;
  e.set_kind(kind);
  e.set_at_unix_us(clock_->NowUnixUs());
  e.set_host(host_);
  e.set_unit(unit);
  return e;
}

v1::AgentEvent StepRunner::SkippedStop(const v1::ExecuteRequest& req, const v1::UnitState& st) {
  v1::AgentEvent e = Event(v1::AgentEvent::JOB_SKIPPED, st.unit());
  v1::OperationRecord op = NewRecord(req, JobKind::kStop, st.unit(), /*autonomous=*/false);
  op.set_result(absl::StrCat("skipped-already-", st.active_state()));
  op.set_job_result(v1::JOB_RESULT_ALREADY);
  op.set_skip(v1::SKIP_REASON_ALREADY_STOPPED);
  op.set_skip_reason(absl::StrCat("already ", st.active_state()));
  op.set_detail(SkipLine(op));
  e.set_message(absl::StrCat(op.detail(), " (", st.unit(), " is ", st.active_state(), "/", st.sub_state(),
                             "; nothing was issued)"));
  *e.mutable_operation() = std::move(op);
  return e;
}

v1::OperationRecord StepRunner::NewRecord(const v1::ExecuteRequest& req, JobKind kind, const std::string& unit,
                                          bool autonomous) {
  v1::OperationRecord op;
  op.set_step_id(req.step_id());
  op.set_host(host_);
  op.set_unit(unit);
  op.set_operation(ToOperation(kind));
  op.set_autonomous(autonomous);
  op.set_run_id(req.run_id());
  op.set_started_at_unix_us(clock_->NowUnixUs());
  return op;
}

absl::Status StepRunner::BeforeJob(const v1::ExecuteRequest& req, const std::string& caller, JobKind kind,
                                   const std::string& unit, bool autonomous, bool hold) {
  absl::Status audited = audit_->Record({req.run_id(), caller, unit, JobName(kind), "begin", ""});
  if (!audited.ok() && !autonomous)
    return absl::FailedPreconditionError(absl::StrCat("refused to ", JobName(kind), " ", unit, ": ",
                                                      audited.message(), "; the unit was not touched (fix the "
                                                      "audit log, then run again)"));
  if (!audited.ok())  // the agent's own restore: bringing a unit back beats an audit line
    GetLogger("agent")->error("[run={}][unit={}] starting without an audit entry: {}", req.run_id(), unit,
                              audited.message());
  if (!hold) return absl::OkStatus();
  absl::Status held = lease_->Hold(unit);
  if (held.ok()) return absl::OkStatus();
  (void)audit_->Record({req.run_id(), caller, unit, JobName(kind), "end", "refused: cannot hold"});
  return absl::FailedPreconditionError(absl::StrCat("refused to stop ", unit, ": the hold cannot be persisted (",
                                                    held.message(), "), so a restarted agent could not start it "
                                                    "again; the unit was not touched (fix the state dir, then run "
                                                    "again)"));
}

v1::OperationRecord StepRunner::Job(const v1::ExecuteRequest& req, const std::string& caller, JobKind kind,
                                    const std::string& unit, bool autonomous, bool hold) {
  v1::OperationRecord op = NewRecord(req, kind, unit, autonomous);
  if (absl::Status s = BeforeJob(req, caller, kind, unit, autonomous, hold); !s.ok()) {
    op.set_result("refused");
    op.set_job_result(v1::JOB_RESULT_ERROR);
    op.set_detail(Redact(std::string(s.message())));
    return op;
  }
  const auto t0 = clock_->Now();
  auto outcome = systemd_->RunJob(kind, unit, std::chrono::milliseconds(req.job_timeout_ms()));
  if (outcome.ok() && outcome->result == "start-limit-hit" && req.allow_reset_failed()) {
    // Allowed by config: clear the start limit once, say so, and try again.
    absl::Status rs = audit_->Record({req.run_id(), caller, unit, "reset-failed", "begin", ""});
    if (rs.ok()) rs = systemd_->ResetFailed(unit);
    (void)audit_->Record({req.run_id(), caller, unit, "reset-failed", "end", rs.ok() ? "done" : std::string(rs.message())});
    if (rs.ok()) {
      outcome = systemd_->RunJob(kind, unit, std::chrono::milliseconds(req.job_timeout_ms()));
      if (outcome.ok()) op.set_detail("start-limit-hit; reset-failed then started again");
    }
  }
  if (!outcome.ok()) {
    op.set_duration_us(MicrosSince(t0, clock_->Now()));
    op.set_result(outcome.status().code() == absl::StatusCode::kDeadlineExceeded ? "timeout" : "error");
    op.set_detail(Redact(std::string(outcome.status().message())));
  } else {
    op.set_duration_us(outcome->duration.count());
    op.set_result(outcome->result);
    if (!outcome->ok()) {
      auto st = systemd_->GetUnitState(unit);
      if (st.ok())
        op.set_detail(absl::StrCat(op.detail().empty() ? "" : op.detail() + "; ", "unit is ", st->active_state(), "/",
                                   st->sub_state(), ", result ", st->result(), ", exit status ",
                                   st->exec_main_status()));
    }
  }
  op.set_job_result(JobResultOfText(op.result()));
  if (absl::Status s = audit_->Record({req.run_id(), caller, unit, JobName(kind), "end", op.result()}); !s.ok())
    op.set_detail(absl::StrCat(op.detail().empty() ? "" : op.detail() + "; ", "audit end entry not written: ",
                               s.message()));
  return op;
}

v1::AgentEvent StepRunner::Run(const v1::ExecuteRequest& req, const std::string& caller, const EmitFn& emit) {
  auto log = GetLogger("agent");
  bool ok = true;
  std::string why;

  // 1. Initial state of every unit; an unknown unit stops the step before anything changes.
  std::vector<v1::UnitState> initial;
  const std::vector<absl::StatusOr<v1::UnitState>> first = ReadStates(req);
  for (size_t i = 0; i < first.size(); ++i) {
    const std::string& unit = req.units(static_cast<int>(i));
    auto st = first[i];
    if (!st.ok() || st->load_state() != "loaded") {
      v1::AgentEvent done = Event(v1::AgentEvent::STEP_DONE, unit);
      done.set_ok(false);
      done.set_message(st.ok() ? absl::StrCat("unit ", unit, " is ", st->load_state(), " on host ", host_,
                                              "; nothing was changed")
                               : absl::StrCat("cannot read ", unit, " on host ", host_, ": ",
                                              st.status().message(), "; nothing was changed"));
      emit(done);
      return done;
    }
    if (absl::Status s = CheckLeaseCoversUnitTimeouts(req, *st); !s.ok()) {
      v1::AgentEvent done = Event(v1::AgentEvent::STEP_DONE, unit);
      done.set_ok(false);
      done.set_message(absl::StrCat("host ", host_, ": ", s.message()));
      emit(done);
      return done;
    }
    st->set_host(host_);
    v1::AgentEvent e = Event(v1::AgentEvent::INITIAL_STATE, unit);
    *e.mutable_state() = *st;
    emit(e);
    initial.push_back(*st);
  }

  // 2. Jobs, unit by unit, in order.
  for (size_t i = 0; i < initial.size() && ok; ++i) {
    const std::string& unit = req.units(static_cast<int>(i));
    const bool active = IsActiveState(initial[i].active_state());
    std::vector<JobKind> jobs;
    if (req.operation() == v1::OPERATION_START) {
      jobs.push_back(JobKind::kStart);
    } else if (active) {
      jobs.push_back(JobKind::kStop);
    } else {
      emit(SkippedStop(req, initial[i]));  // a stop of a unit that is not running: recorded, not issued
    }
    if (req.operation() == v1::OPERATION_RESTART) jobs.push_back(JobKind::kStart);
    for (JobKind kind : jobs) {
      if (req.dry_run()) {
        v1::AgentEvent e = Event(v1::AgentEvent::WOULD_RUN, unit);
        e.mutable_operation()->set_step_id(req.step_id());
        e.mutable_operation()->set_host(host_);
        e.mutable_operation()->set_unit(unit);
        e.mutable_operation()->set_operation(ToOperation(kind));
        e.mutable_operation()->set_started_at_unix_us(clock_->NowUnixUs());
        e.mutable_operation()->set_result("would-run");
        e.mutable_operation()->set_job_result(v1::JOB_RESULT_WOULD_RUN);
        e.mutable_operation()->set_detail(absl::StrCat("would ", JobName(kind), " ", unit, " (now ",
                                                       initial[i].active_state(), "/", initial[i].sub_state(),
                                                       ", pid ", initial[i].main_pid(), ")"));
        e.set_message(e.operation().detail());
        emit(e);
        continue;
      }
      v1::AgentEvent issued = Event(v1::AgentEvent::JOB_ISSUED, unit);
      issued.set_message(absl::StrCat(JobName(kind), " ", unit));
      issued.mutable_operation()->set_operation(ToOperation(kind));  // the live view's "stopping"/"starting"
      emit(issued);
      // Hold before stopping: if we die between stop and start, the next agent restores it.
      const bool hold = kind == JobKind::kStop && !req.restore_stopped();
      v1::OperationRecord op = Job(req, caller, kind, unit, /*autonomous=*/false, hold);
      const bool refused = op.result() == "refused";  // job_result ERROR, the unit untouched
      // A restart's start ends the hold whatever its result: nothing more the agent could do.
      if (kind == JobKind::kStart) lease_->Unhold(unit);
      v1::AgentEvent done = Event(v1::AgentEvent::JOB_DONE, unit);
      done.set_message(absl::StrCat(JobName(kind), " ", unit, ": ", op.result(),
                                    op.detail().empty() ? "" : " (" + op.detail() + ")"));
      const bool job_ok = op.job_result() == v1::JOB_RESULT_DONE;
      *done.mutable_operation() = std::move(op);
      emit(done);
      if (!job_ok) {
        ok = false;
        why = done.message();
        // A failed stop may have left the unit down (e.g. stop timeout then killed): bring it back.
        if (kind == JobKind::kStop && req.operation() == v1::OPERATION_RESTART && !refused) {
          v1::OperationRecord back = Job(req, caller, JobKind::kStart, unit, /*autonomous=*/false);
          lease_->Unhold(unit);
          v1::AgentEvent e = Event(v1::AgentEvent::JOB_DONE, unit);
          e.set_message(absl::StrCat("start ", unit, " after failed stop: ", back.result()));
          *e.mutable_operation() = std::move(back);
          emit(e);
        }
        break;
      }
    }
  }

  // 3. Gate probes (also in a dry run: they only read), then the settle window.
  const bool settle = ok && !req.dry_run() && req.operation() != v1::OPERATION_STOP && req.healthy_for_ms() > 0;
  // What the settle window compares against is read as the gate passes, beside its probes.
  std::vector<absl::StatusOr<v1::UnitState>> gate_states, final_states;
  if (settle) ok = ProbeWhileReading(req, emit, &why, &gate_states);
  else if (ok) ok = RunProbes(req, emit, &why);
  if (ok && settle) ok = Settle(req, KnownOrUnknown(req, gate_states), emit, &why, &final_states);

  // 4. Final state (the settle window's last read when it had one: taken at the end of the window).
  if (final_states.empty()) final_states = ReadStates(req);
  for (size_t i = 0; i < final_states.size(); ++i) {
    auto st = final_states[i];
    v1::AgentEvent e = Event(v1::AgentEvent::FINAL_STATE, req.units(static_cast<int>(i)));
    if (st.ok()) {
      st->set_host(host_);
      *e.mutable_state() = *st;
    } else {
      e.set_message(std::string(st.status().message()));
    }
    emit(e);
  }

  v1::AgentEvent done = Event(v1::AgentEvent::STEP_DONE, "");
  done.set_ok(ok);
  done.set_message(ok ? (req.dry_run() ? "dry run: nothing changed" : "step done") : why);
  log->info("[run={}][step={}] {}", req.run_id(), req.step_id(), done.message());
  emit(done);
  return done;
}

std::vector<absl::StatusOr<v1::UnitState>> StepRunner::ReadStates(const v1::ExecuteRequest& req) {
  return systemd_->GetUnitStates(std::vector<std::string>(req.units().begin(), req.units().end()));
}

bool StepRunner::RunProbes(const v1::ExecuteRequest& req, const EmitFn& emit, std::string* why) {
  bool ok = true;
  for (const auto& spec : req.probes()) {
    v1::ProbeResult r = probes_->Run(spec);
    r.set_step_id(req.step_id());
    v1::AgentEvent e = Event(v1::AgentEvent::PROBE_RESULT, "");
    e.set_message(absl::StrCat("probe ", r.name(), " ", r.healthy() ? "healthy" : "UNHEALTHY", ": ", r.detail(),
                               " after ", r.attempts(), " attempt(s)"));
    if (!r.healthy() && ok) {
      ok = false;
      *why = e.message();
    }
    *e.mutable_probe() = std::move(r);
    emit(e);
  }
  return ok;
}

bool StepRunner::ProbeWhileReading(const v1::ExecuteRequest& req, const EmitFn& emit, std::string* why,
                                   std::vector<absl::StatusOr<v1::UnitState>>* states) {
  auto read = WorkerPool::Shared().Async([this, &req] { return ReadStates(req); });
  const bool ok = RunProbes(req, emit, why);
  *states = read.get();
  return ok;
}

bool StepRunner::Settle(const v1::ExecuteRequest& req, const std::vector<v1::UnitState>& at_gate, const EmitFn& emit,
                        std::string* why, std::vector<absl::StatusOr<v1::UnitState>>* after) {
  v1::AgentEvent wait = Event(v1::AgentEvent::INFO, "");
  wait.set_message(absl::StrCat("gate passed; checking that the unit(s) stay up for ", req.healthy_for_ms(), " ms"));
  emit(wait);
  clock_->SleepFor(std::chrono::milliseconds(req.healthy_for_ms()));
  // At the end of the window: the probes again, and the units' states read beside them.
  std::string probe_why;
  const bool healthy = ProbeWhileReading(req, emit, &probe_why, after);
  const std::string broke = SettleFailure(host_, req.healthy_for_ms(), at_gate, KnownOrUnknown(req, *after));
  if (!broke.empty()) {
    v1::AgentEvent e = Event(v1::AgentEvent::INFO, "");
    e.set_message(broke);
    emit(e);
    *why = broke;  // a restart or a fall says more than the probe that saw it
    return false;
  }
  if (!healthy) *why = probe_why;
  return healthy;
}

void StepRunner::RestoreUnits(const std::string& run_id, const std::vector<std::string>& units,
                              const std::string& why) {
  v1::ExecuteRequest req;
  req.set_run_id(run_id);
  req.set_step_id("agent-restore");
  req.set_job_timeout_ms(90000);
  for (const auto& unit : units) {
    GetLogger("agent")->warn("[run={}][unit={}] starting again on my own: {}", run_id, unit, why);
    v1::OperationRecord op = Job(req, "agent", JobKind::kStart, unit, /*autonomous=*/true);
    op.set_detail(op.detail().empty() ? why : why + "; " + op.detail());
    lease_->RecordAutonomous(op);
  }
}

}  // namespace failover::agent
