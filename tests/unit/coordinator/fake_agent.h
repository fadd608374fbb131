// An in-process agent for executor unit tests: the real StepRunner over FakeSystemd.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "agent/audit_log.h"
#include "agent/fault_injector.h"
#include "agent/host_lease.h"
#include "agent/step_runner.h"
#include "fakes.h"

namespace failover::testing {

class FakeAgent : public AgentClient {
 public:
  FakeAgent(std::string host, std::vector<std::string>* order, std::mutex* order_mu)
      : host_(host), lease_(&clock_, ""), audit_(""), runner_(host, &systemd_, &probes_, &lease_, &audit_, &clock_),
        injector_(host, &systemd_, &lease_, &audit_, &clock_), order_(order), order_mu_(order_mu) {
    systemd_.set_clock(&clock_);
  }
  FakeClock& clock() { return clock_; }
  // Units InjectFault may kill (as the agent's allowlist).
  UnitAllowlist allowlist = *UnitAllowlist::Create({"sls-*.service"});
  absl::StatusOr<v1::ChaosInjectFaultResponse> InjectFault(const v1::ChaosInjectFaultRequest& req) override {
    if (unreachable) return absl::UnavailableError("host " + host_ + ": agent unreachable");
    if (absl::Status s = agent::ValidateInjectFaultRequest(req, allowlist); !s.ok()) return s;
    return injector_.Inject(req, "test");
  }

  FakeSystemd& systemd() { return systemd_; }
  FakeProbes& probes() { return probes_; }
  agent::HostLease& lease() { return lease_; }
  bool unreachable = false;
  // When set, GetState answers with this refusal (e.g. a unit off the agent's allowlist).
  absl::Status refuse_get_state;
  // Fails the stream after this many events (simulates a lost agent); -1 = never.
  int break_after_events = -1;

  // Calls so far (the executor's calls per host per run).
  std::atomic<int> get_state_calls{0}, get_state_releases{0}, renew_lease_calls{0}, renew_lease_releases{0};
  // When set, GetState ignores `release` (an agent that predates GetStateRequest.release).
  bool ignores_release_in_get_state = false;

  absl::StatusOr<v1::GetStateResponse> GetState(const v1::GetStateRequest& req) override {
    ++get_state_calls;
    if (unreachable) return absl::UnavailableError("host " + host_ + ": agent unreachable: connection refused");
    if (!refuse_get_state.ok()) return refuse_get_state;
    if (req.reserve_lease_ms() > 0) {  // as AgentService::Reserve
      absl::Status s = lease_.Acquire(req.run_id(), std::chrono::milliseconds(req.reserve_lease_ms()));
      if (!s.ok()) return s;
    }
    v1::GetStateResponse resp;
    resp.set_host(host_);
    resp.set_held_by_run(lease_.holder());
    for (const auto& u : req.units()) {
      auto st = systemd_.GetUnitState(u);
      st->set_host(host_);
      *resp.add_units() = *st;
    }
    for (const auto& op : lease_.autonomous()) *resp.add_autonomous_operations() = op;
    bool all_active = true;
    for (const auto& u : req.release_only_if_active())
      all_active = all_active && systemd_.GetUnitState(u)->active_state() == "active";
    if (req.release() && all_active && !ignores_release_in_get_state) {  // as AgentService: read, then release
      ++get_state_releases;
      auto units = lease_.Release(req.run_id());
      if (!units.empty()) runner_.RestoreUnits(req.run_id(), units, "released");
      resp.set_release_done(true);
    }
    return resp;
  }
  absl::Status Execute(const v1::ExecuteRequest& req, const std::function<void(const v1::AgentEvent&)>& on_event,
                       std::chrono::milliseconds) override {
    if (unreachable) return absl::UnavailableError("host " + host_ + ": agent unreachable");
    if (!req.dry_run()) {
      absl::Status s = lease_.Acquire(req.run_id(), std::chrono::milliseconds(req.lease_ms()));
      if (!s.ok()) return s;
    }
    int n = 0;
    bool broken = false;
    runner_.Run(req, "test", [&](v1::AgentEvent e) {
      if (e.kind() == v1::AgentEvent::JOB_DONE) {
        std::lock_guard<std::mutex> lock(*order_mu_);
        order_->push_back(host_ + ":" + (e.operation().operation() == v1::OPERATION_STOP ? "stop " : "start ") + e.unit());
      }
      if (broken) return;
      if (break_after_events >= 0 && n >= break_after_events) {
        broken = true;
        return;
      }
      ++n;
      on_event(e);
    });
    if (broken) return absl::UnavailableError("host " + host_ + ": stream broken");
    return absl::OkStatus();
  }
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& req, std::chrono::milliseconds) override {
    if (unreachable) return absl::UnavailableError("host " + host_ + ": agent unreachable");
    v1::ProbeResponse resp;
    for (const auto& p : req.probes()) *resp.add_results() = probes_.Run(p);
    return resp;
  }
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(const v1::RenewLeaseRequest& req) override {
    ++renew_lease_calls;
    if (unreachable) return absl::UnavailableError("unreachable");
    if (req.release()) {
      ++renew_lease_releases;
      auto units = lease_.Release(req.run_id());
      if (!units.empty()) runner_.RestoreUnits(req.run_id(), units, "released");
      return v1::RenewLeaseResponse();
    }
    absl::Status s = lease_.Renew(req.run_id(), std::chrono::milliseconds(req.lease_ms()));
    if (!s.ok()) return s;
    return v1::RenewLeaseResponse();
  }

 private:
  std::string host_;
  FakeClock clock_;
  FakeSystemd systemd_;
  FakeProbes probes_;
  agent::HostLease lease_;
  agent::AuditLog audit_;
  agent::StepRunner runner_;
  agent::FaultInjector injector_;
  std::vector<std::string>* order_;
  std::mutex* order_mu_;
};

}  // namespace failover::testing
