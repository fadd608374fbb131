// failoverctl report: prints a stored run's report (the latest by default).
#include <iostream>

#include "cli/common.h"
#include "coordinator/report_html.h"
#include "coordinator/report_junit.h"
#include "coordinator/report_markdown.h"
#include "coordinator/report_metrics.h"
#include "coordinator/report_writer.h"
#include "failover/clock.h"

namespace failover::cli {
namespace {

std::string StateWord(v1::PublishState s) {
  switch (s) {
    case v1::PUBLISH_PENDING: return "pending";
    case v1::PUBLISH_DELIVERED: return "published";
    case v1::PUBLISH_FAILED: return "FAILED";
    default: return "unknown";
  }
}

// One line per publish of the report (the text report's tail).
void PrintPublications(const v1::Report& r) {
  if (r.publications().empty()) return;
  std::cout << "\nPublished to:\n";
  for (const auto& p : r.publications()) {
    std::cout << "  " << p.destination() << " (" << p.kind() << "): " << StateWord(p.state()) << ", "
              << p.attempts() << " attempt(s)";
    if (!p.page_url().empty()) std::cout << ", " << p.page_url();
    else if (!p.page_id().empty()) std::cout << ", page " << p.page_id();
    if (!p.last_error().empty()) std::cout << ", last error: " << p.last_error();
    std::cout << "\n";
  }
}

}  // namespace

int RunPublish(const GlobalOptions& g, const std::string& run_id, const std::string& destination,
               const std::string& format) {
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(40));
  v1::PublishRequest req;
  req.set_run_id(run_id);
  req.set_destination(destination);
  req.set_wait_ms(20000);
  v1::PublishResponse resp;
  grpc::Status s = stub->Publish(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("report --publish", s, g);
  const v1::PublishStatus& p = resp.status();
  if (format == "json") {
    PrintJson(p);
    std::cout << "\n";
  } else if (p.state() == v1::PUBLISH_DELIVERED) {
    std::cout << "published run " << p.run_id() << " to " << p.destination() << " (" << p.kind() << ")"
              << (p.page_id().empty() ? "" : ": page " + p.page_id())
              << (p.page_url().empty() ? "" : " " + p.page_url()) << "\n";
  } else if (p.state() == v1::PUBLISH_PENDING) {
    std::cout << "not delivered yet: " << (p.last_error().empty() ? "no attempt finished yet" : p.last_error())
              << ", will retry" << (p.next_attempt_unix_us() > 0 ? " (next attempt " + FormatUnixUs(p.next_attempt_unix_us()) + ")" : "")
              << ", see `failoverctl report " << p.run_id() << "`\n";
  } else {
    std::cout << "publish FAILED: " << p.last_error() << "\n";
  }
  return p.state() == v1::PUBLISH_DELIVERED ? kExitOk : kExitFailed;
}

int RunReport(const GlobalOptions& g, const std::string& run_id, const std::string& format) {
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
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
  else {
    std::cout << coordinator::RenderText(report);
    PrintPublications(report);
  }
  return report.outcome() == v1::RUN_SUCCEEDED ? kExitOk : kExitFailed;
}

}  // namespace failover::cli
