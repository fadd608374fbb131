// failoverctl health: every service probe, guard and the global health check. Changes nothing.
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/common.h"

namespace failover::cli {

int RunHealth(const GlobalOptions& g, const RunFlags& f) {
  v1::RunRequest req;
  if (!BuildRunRequest(f, &req)) return kExitUsage;
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  v1::HealthResponse resp;
  grpc::Status s = stub->Health(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("health", s, g);
  if (f.Json()) {
    PrintJson(resp);
    return resp.healthy() ? kExitOk : kExitFailed;
  }
  for (const auto& r : resp.results())
    std::cout << absl::StrFormat("%-10s %-9s %-20s %-40s %s (%s)\n", r.host(), r.healthy() ? "HEALTHY" : "UNHEALTHY",
                                 r.name(), r.target(), r.detail(), Ms(r.latency_us()));
  std::cout << (resp.healthy() ? "all healthy\n" : "UNHEALTHY\n");
  return resp.healthy() ? kExitOk : kExitFailed;
}

}  // namespace failover::cli
