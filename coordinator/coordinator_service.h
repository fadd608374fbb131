// The Coordinator gRPC service (callback API): plans, runs (streamed), health, reports.
// Keeps a journal of every run so a run is never "running" forever after a crash.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "coordinator/config.h"
#include "coordinator/planner.h"
#include "failover/agent_client.h"
#include "failover/v1/coordinator.grpc.pb.h"

namespace failover::coordinator {

struct CoordinatorOptions {
  std::string default_config_path;  // used when a request carries no config
  std::string reports_dir;          // overrides the config's reports_dir when set
  std::string state_dir;            // journal of runs ("" = none)
  // Over TCP (mTLS): certificate names allowed to drive the coordinator (empty = any of the CA).
  std::vector<std::string> allowed_clients;
};

class CoordinatorService final : public v1::Coordinator::CallbackService {
 public:
  explicit CoordinatorService(CoordinatorOptions options) : options_(std::move(options)) {}

  grpc::ServerUnaryReactor* Plan(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                 v1::PlanResponse* resp) override;
  grpc::ServerWriteReactor<v1::RunEvent>* Run(grpc::CallbackServerContext* ctx, const v1::RunRequest* req) override;
  grpc::ServerUnaryReactor* GetReport(grpc::CallbackServerContext* ctx, const v1::GetReportRequest* req,
                                      v1::Report* resp) override;
  grpc::ServerUnaryReactor* Health(grpc::CallbackServerContext* ctx, const v1::RunRequest* req,
                                   v1::HealthResponse* resp) override;

  // Marks journaled runs that were still running as interrupted, asks their agents what they
  // finished on their own, and writes their reports. Call once at start-up.
  void RecoverInterruptedRuns();

 private:
  struct Prepared {
    std::shared_ptr<Config> config;
    std::string config_yaml;  // as sent with the request ("" = the coordinator's own)
    bool from_request = false;
    failover::coordinator::Plan plan;
    std::map<std::string, std::unique_ptr<AgentClient>> clients;
  };
  absl::StatusOr<std::unique_ptr<Prepared>> Prepare(const v1::RunRequest& req);
  // The coordinator's own config, or the request's with the coordinator-only settings of the own.
  absl::StatusOr<Config> LoadConfig(const std::string& request_yaml, const std::string& request_path) const;
  std::string ReportsDir(const Config& config) const;
  // Unix-socket callers are vetted by the socket's permissions; TCP callers by certificate name.
  absl::Status Authorize(const grpc::CallbackServerContext& ctx) const;
  void Journal(const v1::Report& report);

  CoordinatorOptions options_;
  std::mutex mu_;
  std::map<std::string, std::string> busy_hosts_;  // host -> run id holding it in this coordinator
  std::map<std::string, v1::Report> reports_;       // run id -> report
  std::string latest_run_;
};

}  // namespace failover::coordinator
