// The Agent gRPC service (callback API; Execute is a sync handler so its step events leave at
// once, see event_stream.h). Validates every request, checks the caller's identity and the
// allowlist, and hands blocking systemd/probe work to worker threads.
#pragma once

#include <atomic>
#include <thread>

#include "agent/agent_config.h"
#include "agent/fault_injector.h"
#include "agent/metrics.h"
#include "agent/host_lease.h"
#include "agent/step_runner.h"
#include "failover/v1/agent.grpc.pb.h"
#include "grpcpp/server_builder.h"

namespace failover::agent {

// Every method on the callback API except Execute (sync: its handler thread writes the events).
using AgentServiceBase = v1::Agent::WithCallbackMethod_GetState<
    v1::Agent::WithCallbackMethod_Probe<v1::Agent::WithCallbackMethod_RenewLease<
        v1::Agent::WithCallbackMethod_InjectFault<v1::Agent::Service>>>>;

class AgentService final : public AgentServiceBase {
 public:
  AgentService(const AgentConfig& config, SystemdManager* systemd, ProbeRunner* probes, HostLease* lease,
               AuditLog* audit);
  ~AgentService() override;

  grpc::ServerUnaryReactor* GetState(grpc::CallbackServerContext* ctx, const v1::GetStateRequest* req,
                                     v1::GetStateResponse* resp) override;
  grpc::Status Execute(grpc::ServerContext* ctx, const v1::ExecuteRequest* req,
                       grpc::ServerWriter<v1::AgentEvent>* writer) override;
  grpc::ServerUnaryReactor* Probe(grpc::CallbackServerContext* ctx, const v1::ProbeRequest* req,
                                  v1::ProbeResponse* resp) override;
  grpc::ServerUnaryReactor* RenewLease(grpc::CallbackServerContext* ctx, const v1::RenewLeaseRequest* req,
                                       v1::RenewLeaseResponse* resp) override;
  grpc::ServerUnaryReactor* InjectFault(grpc::CallbackServerContext* ctx, const v1::ChaosInjectFaultRequest* req,
                                        v1::ChaosInjectFaultResponse* resp) override;

  // Where lease expiries are counted (/metrics); before serving.
  void set_metrics(MetricsSink* metrics) { metrics_ = metrics; }
  // Starts what a previous agent process left held stopped. Call before serving.
  void RestorePersistedHolds();
  // Watches lease expiry and restores what an expired or silent run left held.
  void StartLeaseWatcher();
  // Before the agent exits (SIGTERM): refuse new steps, let running ones finish (up to
  // max_wait), and start every unit still held, so stopping the agent never leaves one down.
  void Drain(std::chrono::milliseconds max_wait);

 private:
  // GetState with reserve_lease_ms: takes (or renews) the host lock for req.run_id().
  absl::Status Reserve(const v1::GetStateRequest& req);
  // Each unit of req.release_only_if_active reads exactly "active" in `resp`.
  static bool AllActive(const v1::GetStateRequest& req, const v1::GetStateResponse& resp);
  // GetState with release: a valid run_id, not together with reserve_lease_ms, and
  // release_only_if_active only among the units read.
  absl::Status CheckRelease(const v1::GetStateRequest& req) const;
  // The requested units' states (and the lease's holder and autonomous operations) into `resp`.
  absl::Status ReadState(const v1::GetStateRequest& req, v1::GetStateResponse* resp);
  // Releases the host lock when `run` holds it and starts the units it still held stopped.
  void ReleaseFor(const std::string& run);
  // PERMISSION_DENIED unless the caller's certificate identity is allowed.
  absl::Status Authorize(const grpc::ServerContextBase& ctx, std::string* identity) const;
  // Logs and audits a refused request (caller, peer address, what, why); returns `why`.
  absl::Status Refuse(const grpc::ServerContextBase& ctx, const std::string& caller, const char* rpc,
                      const std::string& what, absl::Status why) const;

  const AgentConfig& config_;
  SystemdManager* systemd_;
  ProbeRunner* probes_;
  HostLease* lease_;
  AuditLog* audit_;
  StepRunner runner_;
  FaultInjector injector_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> draining_{false};
  std::thread watcher_;
  MetricsSink* metrics_ = NullMetricsSink::Get();
};

// The agent binary's gRPC server settings: keepalive while a step streams (a dead coordinator is
// noticed), ping policy, handshake timeout. Shared with the bench agents (bench/).
void ApplyAgentServerOptions(grpc::ServerBuilder* builder);

}  // namespace failover::agent
