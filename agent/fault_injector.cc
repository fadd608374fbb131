#include "agent/fault_injector.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/step_runner.h"
#include "failover/kill_signal.h"
#include "failover/logging.h"

namespace failover::agent {

absl::Status ValidateInjectFaultRequest(const v1::ChaosInjectFaultRequest& req, const UnitAllowlist& allowlist) {
  if (absl::Status s = ValidateId("run_id", req.run_id()); !s.ok()) return s;
  if (absl::Status s = allowlist.Check(req.unit()); !s.ok()) return s;
  return KillSignalFromWire(req.signal(), "signal").status();
}

absl::StatusOr<v1::ChaosInjectFaultResponse> FaultInjector::Inject(const v1::ChaosInjectFaultRequest& req,
                                                                   const std::string& caller) {
  const KillSignal signal = *KillSignalFromWire(req.signal(), "signal");
  const std::string holder = lease_->holder();
  if (!holder.empty() && holder != req.run_id())
    return absl::FailedPreconditionError(absl::StrCat("host ", host_, " is held by run ", holder,
                                                      ": no fault is injected while another run acts here"));
  auto before = systemd_->GetUnitState(req.unit());
  if (!before.ok()) return before.status();
  before->set_host(host_);
  before->set_read_at_unix_us(clock_->NowUnixUs());
  v1::ChaosInjectFaultResponse resp;
  resp.set_host(host_);
  *resp.mutable_before() = *before;
  const std::string what = absl::StrCat("SIG", KillSignalName(signal), " to ", req.unit(), " on ", host_,
                                        " (main PID ", before->main_pid(), ")");
  if (before->active_state() != "active")
    return absl::FailedPreconditionError(absl::StrCat(req.unit(), " on ", host_, " is ", before->active_state(),
                                                      ", not active: there is nothing to kill"));
  if (req.dry_run()) {
    resp.set_message("dry run: would send " + what);
    return resp;
  }
  const std::string op = "kill-" + absl::AsciiStrToLower(KillSignalName(signal));
  if (absl::Status s = audit_->Record({req.run_id(), caller, req.unit(), op, "begin", ""}); !s.ok())
    return absl::FailedPreconditionError(absl::StrCat("fault not injected: the audit log cannot be written: ", s.message()));
  resp.set_sent_at_unix_us(clock_->NowUnixUs());
  absl::Status killed = systemd_->KillUnit(req.unit(), "all", signal);
  (void)audit_->Record({req.run_id(), caller, req.unit(), op, "end", killed.ok() ? "done" : std::string(killed.message())});
  if (!killed.ok()) return killed;
  GetLogger("agent")->warn("[run={}] injected fault: sent {}", req.run_id(), what);
  resp.set_message("sent " + what);
  return resp;
}

}  // namespace failover::agent
