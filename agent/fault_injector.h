// Incident simulation on this host: validates an InjectFault request (ids, unit name, allowlist,
// signal), checks no other run holds the host, audits, then asks systemd to kill the unit
// (KillUnit). Pure logic over SystemdManager, HostLease, AuditLog and Clock.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agent/audit_log.h"
#include "agent/host_lease.h"
#include "failover/clock.h"
#include "failover/systemd_manager.h"
#include "failover/unit_name.h"
#include "failover/v1/agent.pb.h"

namespace failover::agent {

// INVALID_ARGUMENT / PERMISSION_DENIED naming the field for a bad run id, unit or signal, or a
// unit off the allowlist. Nothing is touched.
absl::Status ValidateInjectFaultRequest(const v1::ChaosInjectFaultRequest& req, const UnitAllowlist& allowlist);

class FaultInjector {
 public:
  FaultInjector(std::string host, SystemdManager* systemd, HostLease* lease, AuditLog* audit, Clock* clock)
      : host_(std::move(host)), systemd_(systemd), lease_(lease), audit_(audit), clock_(clock) {}

  // For a validated request from `caller`: FAILED_PRECONDITION when another run holds the host or
  // the unit is not active (nothing to kill); the audit's error when the begin entry cannot be
  // written (nothing killed); else the unit's state before and when KillUnit was sent. A dry run
  // reads the state and says what it would do.
  absl::StatusOr<v1::ChaosInjectFaultResponse> Inject(const v1::ChaosInjectFaultRequest& req,
                                                      const std::string& caller);

 private:
  std::string host_;
  SystemdManager* systemd_;
  HostLease* lease_;
  AuditLog* audit_;
  Clock* clock_;
};

}  // namespace failover::agent
