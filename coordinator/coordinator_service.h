// The Coordinator gRPC service (callback API): each RPC authorizes, prepares (config, plan, agent
// clients) and hands off to the planner's views, the executor or the run store.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/agent_client_factory.h"
#include "coordinator/config.h"
#include "coordinator/config_holder.h"
#include "coordinator/fault_executor.h"
#include "coordinator/notifier.h"
#include "coordinator/history_store.h"
#include "coordinator/planner.h"
#include "coordinator/publish_worker.h"
#include "coordinator/run_executor.h"
#include "coordinator/run_store.h"
#include "coordinator/window_decision.h"
#include "failover/agent_client.h"
#include "failover/clock.h"
#include "failover/v1/coordinator.grpc.pb.h"

namespace failover::coordinator {

struct CoordinatorOptions {
  std::string reports_dir;  // overrides the config's reports_dir when set
  // Over TCP (mTLS): certificate names allowed to drive the coordinator (empty = any of the CA).
  std::vector<std::string> allowed_clients;
};

// What the service works with; owned by the caller, outliving the service.
struct CoordinatorDeps {
  ConfigHolder* config = nullptr;  // the coordinator's own config (null = none: requests must bring one)
  AgentClientFactory* agents = nullptr;
  RunStore* runs = nullptr;
  HostClaims* claims = nullptr;
  Clock* clock = nullptr;
  Notifier* notifier = nullptr;  // webhooks of the config's notifications (null = none sent)
  HistoryStore* history = nullptr;  // null = no history (no --state-dir)
  Publisher* publisher = nullptr;   // report publishing (null = no history, so no outbox)
  // Told of every run that ends (for /metrics); may be empty.
  std::function<void(const v1::Report&)> on_run_end;
};

// The config a request runs with: the coordinator's own (`own`) when the request brings none,
// else the request's, parsed here, with the coordinator-only settings of the own.
absl::StatusOr<Config> ConfigForRequest(const Config* own, const std::string& request_yaml,
                                        const std::string& request_path);

// Every method on the callback API except Run: a sync handler, so the run's events leave as they
// happen (EventStream::Serve; see event_stream.h for the ~100 ms a callback stream could wait).
using CoordinatorServiceBase = v1::Coordinator::WithCallbackMethod_Plan<v1::Coordinator::WithCallbackMethod_GetReport<
    v1::Coordinator::WithCallbackMethod_Health<v1::Coordinator::WithCallbackMethod_Abort<
        v1::Coordinator::WithCallbackMethod_ListRuns<v1::Coordinator::WithCallbackMethod_Trends<
        v1::Coordinator::WithCallbackMethod_Publish<v1::Coordinator::WithCallbackMethod_Inject<
            v1::Coordinator::WithCallbackMethod_Chaos<v1::Coordinator::Service>>>>>>>>>;

class CoordinatorService final : public CoordinatorServiceBase {
 public:
  CoordinatorService(CoordinatorOptions options, CoordinatorDeps deps)
      : options_(std::move(options)), deps_(deps) {}

  grpc::ServerUnaryReactor* Plan(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                 v1::PlanResponse* resp) override;
  grpc::Status Run(grpc::ServerContext* ctx, const v1::RunRequest* req,
                   grpc::ServerWriter<v1::RunEvent>* writer) override;
  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* ctx, const v1::GetReportRequest* req,
                                      v1::Report* resp) override;
  grpc::ServerUnaryReactor* Health(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                   v1::HealthResponse* resp) override;

  grpc::ServerUnaryReactor* Abort(grpc::CallbackServerContext* ctx, const v1::AbortRequest* req,
                                  v1::AbortResponse* resp) override;
  grpc::ServerUnaryReactor* ListRuns(grpc::CallbackServerContext* ctx, const v1::HistoryListRunsRequest* req,
                                     v1::HistoryListRunsResponse* resp) override;
  grpc::ServerUnaryReactor* Trends(grpc::CallbackServerContext* ctx, const v1::HistoryTrendsRequest* req,
                                   v1::HistoryTrendsResponse* resp) override;
  grpc::ServerUnaryReactor* Publish(grpc::CallbackServerContext* ctx, const v1::PublishRequest* req,
                                    v1::PublishResponse* resp) override;
  // Incident simulation and chaos (coordinator_chaos.cc).
  grpc::ServerWriteReactor<v1::RunEvent>* Inject(grpc::CallbackServerContext* ctx,
                                                 const v1::ChaosInjectRequest* req) override;
  grpc::ServerWriteReactor<v1::RunEvent>* Chaos(grpc::CallbackServerContext* ctx, const v1::ChaosRunRequest* req) override;

  // Graceful stop: refuses new runs from now on and asks every running run to stop at its next
  // safe point (restoring what it changed), with `why` ("stopped: the coordinator received
  // SIGTERM") as its summary. Returns at once; WaitIdle waits for the runs to end.
  void Drain(const std::string& why);
  // True once no run is in progress (each has restored, released its hosts and written its
  // report), false when `deadline` passed first.
  bool WaitIdle(std::chrono::steady_clock::time_point deadline);
  // Asks `*run_id` (empty: the only run in progress, whose id is stored back) to stop on behalf
  // of `who`; returns what to tell the caller. NOT_FOUND / FAILED_PRECONDITION otherwise.
  absl::StatusOr<std::string> RequestAbort(std::string* run_id, const std::string& who);

  // Marks journaled runs that were still running as interrupted, asks their agents what they
  // finished on their own, and writes their reports. Call once at start-up.
  void RecoverInterruptedRuns();

 private:
  struct Prepared {
    std::shared_ptr<Config> config;
    std::string config_yaml;  // as sent with the request ("" = the coordinator's own)
    failover::coordinator::Plan plan;
    std::map<std::string, std::unique_ptr<AgentClient>> owned_clients;
    std::map<std::string, AgentClient*> clients;
    WindowDecision window;   // maintenance window of an executed run
    bool scheduled = false;  // start notices go out with their lead time
  };
  absl::StatusOr<std::unique_ptr<Prepared>> Prepare(const v1::RunRequest& req) const;
  // Unix-socket callers are vetted by the socket's permissions; TCP callers by certificate name.
  absl::Status Authorize(const grpc::ServerContextBase& ctx) const;
  absl::StatusOr<std::string> WriteReport(const Config& config, v1::Report* report) const;
  // Executes a prepared run; the last event carries the report.
  void ExecuteRun(const Prepared& p, const std::string& run_id, const std::function<void(v1::RunEvent)>& push);
  // Refuses an executed run outside the maintenance windows (unless forced); logs the decision.
  absl::Status CheckWindow(const v1::RunRequest& req, const grpc::ServerContextBase& ctx, Prepared* p);
  // Ends a run: stopped-by and window notes, report files, history, run store, host claims released,
  // the end notice (`announce`), then the last event carrying the report. Failover, inject, chaos.
  void FinishRun(const Prepared& p, const std::string& run_id, v1::Report report, bool announce,
                 const std::function<void(v1::RunEvent)>& push);
  // The start notice; for a scheduled run with a lead time, waits that long (a stop ends the wait).
  void AnnounceAndWait(const Prepared& p, const std::string& run_id, const std::function<void(v1::RunEvent)>& push);
  // Stops a run at its next safe point (first stop wins), as an abort does.
  void StopRun(const std::string& run_id, const std::string& why, const std::string& who);
  std::string NewRunId();
  // Records a finished run in the history; a failure is logged and added to the report's errors
  // (the run stands, its report files and journal entry are written regardless).
  void RecordHistory(v1::Report* report);
  // A run refused before it started (host held by another run), recorded in the history.
  // The run's publications from the outbox (best effort: a read error is logged).
  void AddPublications(const std::string& run_id,
                       google::protobuf::RepeatedPtrField<v1::PublishStatus>* out) const;
  void RecordRefused(const Prepared& p, const std::string& run_id, const absl::Status& why);
  // A run in progress; `executor` is null until its worker thread has built it.
  struct ActiveRun {
    RunExecutor* executor = nullptr;
    std::string stop_why;    // a stop asked for before the executor existed
    std::string stopped_by;  // for the report
  };
  // Registers a run (refused while draining); the executor is attached by AttachExecutor.
  absl::Status Register(const std::string& run_id);
  void AttachExecutor(const std::string& run_id, RunExecutor* executor);
  std::string StoppedBy(const std::string& run_id);  // "" = nobody stopped it
  void Unregister(const std::string& run_id);
  void StopLocked(ActiveRun* run, const std::string& why, const std::string& who);
  // Inject/Chaos after their own checks: window, claims, registration, then the FaultExecutor
  // on the stream; failovers of a service go through RunExecutor.
  grpc::ServerWriteReactor<v1::RunEvent>* StartFaultRun(grpc::CallbackServerContext* ctx, const v1::RunRequest& rr,
                                                        std::shared_ptr<Prepared> p, FaultRunOptions options);
  void ExecuteFaultRun(const Prepared& p, const FaultRunOptions& options, const std::string& run_id,
                       const std::function<void(v1::RunEvent)>& push);
  // A failover of `service` inside fault run `run_id` (its events go to `push`).
  v1::Report FailOverService(const Prepared& p, const std::string& run_id, const std::string& service,
                             const std::function<void(v1::RunEvent)>& push);
  std::string StopWhy(const std::string& run_id);

  CoordinatorOptions options_;
  CoordinatorDeps deps_;

  std::mutex active_mu_;
  std::condition_variable idle_cv_;
  std::condition_variable stop_cv_;  // a run's stop_why was set (StopLocked)
  std::map<std::string, ActiveRun> active_;  // run id -> run in progress
  std::string draining_;                      // why the coordinator stops ("" = serving)
};

}  // namespace failover::coordinator
