// failoverctl: flags and dispatch only; one file per subcommand.
#include "cli/common.h"
#include "failover/version.h"

int main(int argc, char** argv) {
  using namespace failover::cli;
  CLI::App app{"failoverctl: plan, run and report failovers (dry run unless --execute)"};
  app.require_subcommand(1);
  app.footer(kExitCodesHelp);
  app.set_version_flag("--version", std::string("failoverctl ") + failover::kVersion);
  GlobalOptions g;
  app.add_option("--coordinator", g.coordinator, "unix:PATH (default) or host:port (mTLS)");
  app.add_option("--tls-ca", g.tls.ca_file, "CA of the coordinator's certificate (TCP)");
  app.add_option("--tls-cert", g.tls.cert_file, "our client certificate (TCP)");
  app.add_option("--tls-key", g.tls.key_file, "our client key (TCP)");
  app.add_option("--tls-server-name", g.tls_server_name, "name in the coordinator's certificate, if not its address");
  app.add_option("--timeout", g.timeout_s, "give up on a run after this many seconds");
  app.add_option("--connect-timeout", g.connect_timeout_s, "seconds to connect and finish the TLS handshake (default 5)");

  RunFlags plan_f, run_f, health_f;
  auto* plan = app.add_subcommand("plan", "show the steps a run would take; check every agent answers");
  AddRunFlags(plan, &plan_f, false);
  auto* run = app.add_subcommand("run", "run a failover: dry run unless --execute");
  AddRunFlags(run, &run_f, true);
  auto* health = app.add_subcommand("health", "run every probe and the global health check");
  AddRunFlags(health, &health_f, false);
  std::string abort_id;
  std::string abort_format = "text";
  bool abort_json = false;
  auto* abort = app.add_subcommand("abort", "stop a run at its next safe point and restore what it changed");
  abort->add_option("run_id", abort_id, "run id (default: the one run in progress)");
  abort->add_option("-o,--output", abort_format, "format: text or json")->check(CLI::IsMember({"text", "json"}));
  abort->add_flag("--json", abort_json, "same as -o json");
  std::string run_id;
  bool report_json = false;
  std::string report_format = "text";
  auto* report = app.add_subcommand("report", "print a run's report (latest by default)");
  report->add_option("run_id", run_id, "run id");
  report->add_option("-o,--output", report_format, "format: text, json, md, junit or html")
      ->check(CLI::IsMember({"text", "json", "md", "junit", "html"}));
  report->add_flag("--json", report_json, "same as -o json");
  std::string publish_to;
  report->add_option("--publish", publish_to,
                     "publish the report to a destination named in the coordinator's publish: list "
                     "(Confluence, Notion or webhook); waits for the first attempt");

  RunsFlags runs_f;
  auto* runs = app.add_subcommand("runs", "list the runs in the coordinator's history, newest first");
  AddRunsFlags(runs, &runs_f);
  uint32_t trends_last = 20;
  std::string trends_format = "text";
  auto* trends = app.add_subcommand("trends", "per service over the last runs: failures, failure rate, downtime");
  trends->add_option("--last", trends_last, "the last N executed runs (default 20)");
  trends->add_option("-o,--output", trends_format, "format: text or json")->check(CLI::IsMember({"text", "json"}));

  InjectFlags inject_f;
  auto* inject = app.add_subcommand("inject", "make one unit fail on purpose (systemd KillUnit) and report its recovery");
  AddInjectFlags(inject, &inject_f);
  ChaosFlags chaos_f;
  auto* chaos = app.add_subcommand("chaos", "kill random allowed units, round by round, and report each recovery");
  AddChaosFlags(chaos, &chaos_f);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : kExitUsage;
  }
  if (*plan) return RunPlan(g, plan_f);
  if (*run) return RunRun(g, run_f);
  if (*health) return RunHealth(g, health_f);
  if (*abort) return RunAbort(g, abort_id, abort_json || abort_format == "json");
  if (*runs) return RunRuns(g, runs_f);
  if (*trends) return RunTrends(g, trends_last, trends_format);
  if (*report && !publish_to.empty()) return RunPublish(g, run_id, publish_to, report_json ? "json" : report_format);
  if (*inject) return RunInject(g, inject_f);
  if (*chaos) return RunChaos(g, chaos_f);
  if (*report) return RunReport(g, run_id, report_json ? "json" : report_format);
  return kExitUsage;
}
