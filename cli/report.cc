// failoverctl report: prints a stored run's report (the latest by default).
#include <iostream>

#include "cli/common.h"
#include "coordinator/report_html.h"
#include "coordinator/report_junit.h"
#include "coordinator/report_markdown.h"
#include "coordinator/report_metrics.h"
#include "coordinator/report_writer.h"

namespace failover::cli {

int RunReport(const GlobalOptions& g, const std::string& run_id, const std::string& format) {
  auto stub = Connect(g);
  if (!stub) return kExitUsage;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::GetReportRequest req;
  req.set_run_id(run_id);
  v1::Report report;
  grpc::Status s = stub->GetReport(&ctx, req, &report);
  if (!s.ok()) return ReportRpcError("report", s, g);
  // A report stored before the metrics existed gets them here, from its own timestamps.
  if (!report.has_metrics()) *report.mutable_metrics() = coordinator::ComputeRecoveryMetrics(report);
  if (format == "json") PrintJson(report);
  else if (format == "md") std::cout << coordinator::RenderMarkdown(report);
  else if (format == "junit") std::cout << coordinator::RenderJunit(report);
  else if (format == "html") std::cout << coordinator::RenderHtml(report);
  else std::cout << coordinator::RenderText(report);
  return report.outcome() == v1::RUN_SUCCEEDED ? kExitOk : kExitFailed;
}

}  // namespace failover::cli
