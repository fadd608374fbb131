// failoverctl plan: the steps a run would take and whether every agent answers. Changes nothing.
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/common.h"
#include "failover/clock.h"

namespace failover::cli {

int RunPlan(const GlobalOptions& g, const RunFlags& f) {
  v1::RunRequest req;
  if (!BuildRunRequest(f, &req)) return kExitUsage;
  int connect_exit = kExitOk;
  auto stub = Connect(g, &connect_exit);
  if (!stub) return connect_exit;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::PlanResponse resp;
  grpc::Status s = stub->Plan(&ctx, req, &resp);
  if (!s.ok()) return ReportRpcError("plan", s, g);
  int not_found = 0;
  for (const auto& u : resp.current_state()) not_found += u.load_state() == "not-found";
  if (f.Json()) {
    PrintJson(resp);
  } else {
    std::cout << "mode " << resp.mode() << ", services " << absl::StrJoin(resp.services(), " → ") << "\n";
    for (const auto& note : resp.budget_notes()) std::cout << "budget: " << note << "\n";
    for (size_t i = 0; i < static_cast<size_t>(resp.steps_size()); ++i) {
      const auto& st = resp.steps(static_cast<int>(i));
      std::cout << absl::StrFormat("  %2d. %-28s on %-20s gate: %s\n", i + 1, st.id(), absl::StrJoin(st.hosts(), ","),
                                   st.gate_probes().empty() ? "-" : absl::StrJoin(st.gate_probes(), ","));
    }
    std::cout << "current state:\n";
    for (const auto& u : resp.current_state()) {
      if (u.load_state() == "not-found") {
        std::cout << absl::StrFormat("  %-10s %-26s NOT FOUND (no such unit on this host)\n", u.host(), u.unit());
        continue;
      }
      std::cout << absl::StrFormat("  %-10s %-26s %s/%s pid %d\n", u.host(), u.unit(), u.active_state(), u.sub_state(),
                                   u.main_pid());
    }
    for (const auto& [host, run] : resp.held_by_run())
      std::cout << "host " << host << " is held by run " << run << "\n";
    if (!resp.agent_actions().empty()) std::cout << "done by agents on their own:\n";
    for (const auto& op : resp.agent_actions())
      std::cout << absl::StrFormat("  %s  %-10s %-26s %s %s (run %s): %s\n", FormatUnixUs(op.started_at_unix_us()),
                                   op.host(), op.unit(), op.operation() == v1::OPERATION_START ? "start" : "stop",
                                   op.result(), op.run_id(), op.detail());
  }
  for (const auto& [host, why] : resp.unreachable_hosts())
    std::cerr << "failoverctl: host " << host << " unreachable: " << why << "\n";
  for (const auto& u : resp.current_state())
    if (u.load_state() == "not-found")
      std::cerr << "failoverctl: unit " << u.unit() << " not found on host " << u.host()
                << " (fix the config's hosts." << u.host() << ".units or install the unit); run --execute refuses it\n";
  return resp.unreachable_hosts().empty() && not_found == 0 ? kExitOk : kExitFailed;
}

}  // namespace failover::cli
