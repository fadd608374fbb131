// failoverctl trends: per service over the last N executed runs: runs, failures, failure rate,
// median and max downtime.
#include <iostream>

#include "absl/strings/str_format.h"
#include "cli/common.h"

namespace failover::cli {

int RunTrends(const GlobalOptions& g, uint32_t last, const std::string& output) {
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::HistoryTrendsRequest req;
  req.set_last(last);
  v1::HistoryTrendsResponse resp;
  grpc::Status s = stub->Trends(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("trends", s, g);
  if (output == "json") {
    PrintJson(resp);
    return kExitOk;
  }
  std::cout << "over the last " << resp.last() << " executed run(s)\n";
  std::cout << absl::StrFormat("%-20s %5s %8s %8s %14s %14s\n", "SERVICE", "RUNS", "FAILURES", "RATE",
                               "MEDIAN DOWN", "MAX DOWN");
  for (const auto& t : resp.services())
    std::cout << absl::StrFormat("%-20s %5d %8d %7.1f%% %14s %14s\n", t.service(), t.runs(), t.failures(),
                                 100 * t.failure_rate(), Ms(t.median_downtime_us()), Ms(t.max_downtime_us()));
  if (resp.services_size() == 0) std::cout << "no executed runs recorded yet\n";
  return kExitOk;
}

}  // namespace failover::cli
