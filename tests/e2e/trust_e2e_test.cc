// Issue 12 (part): the agent's word must be true, and the TLS edge says what is wrong. Against
// real agents under real systemd on the test bed (and real failoverctl/coordinator processes).
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "failover/tls.h"
#include "failover/v1/agent.grpc.pb.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

using Clock = std::chrono::steady_clock;

std::unique_ptr<v1::Agent::Stub> ApiAgent(const std::string& name = "coordinator") {
  const std::string certs = StateDir() + "/certs";
  TlsFiles files{certs + "/ca.pem", certs + "/" + name + ".pem", certs + "/" + name + ".key"};
  return v1::Agent::NewStub(
      grpc::CreateCustomChannel("10.77.0.11:7700", *MakeChannelCredentials(files), DefaultChannelArguments("api")));
}

v1::ExecuteRequest Step(const std::string& run, v1::Operation op, const std::string& unit, uint32_t job_ms,
                        uint32_t lease_ms) {
  v1::ExecuteRequest req;
  req.set_run_id(run);
  req.set_step_id("s1");
  req.set_operation(op);
  req.add_units(unit);
  req.set_job_timeout_ms(job_ms);
  req.set_lease_ms(lease_ms);
  return req;
}

// Runs a step to its end; returns the STEP_DONE event (kind unset when the stream broke).
v1::AgentEvent Execute(v1::Agent::Stub* stub, const v1::ExecuteRequest& req, int deadline_s = 30) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(deadline_s));
  auto reader = stub->Execute(&ctx, req);
  v1::AgentEvent e, done;
  while (reader->Read(&e))
    if (e.kind() == v1::AgentEvent::STEP_DONE) done = e;
  grpc::Status s = reader->Finish();
  if (!s.ok()) done.set_message("RPC " + std::to_string(s.error_code()) + ": " + s.error_message());
  return done;
}

void Release(v1::Agent::Stub* stub, const std::string& run) {
  grpc::ClientContext ctx;
  v1::RenewLeaseRequest req;
  req.set_run_id(run);
  req.set_release(true);
  v1::RenewLeaseResponse resp;
  (void)stub->RenewLease(&ctx, req, &resp);
}

// Polls `pred` every 50 ms up to timeout_ms; returns ms waited, -1 on timeout.
template <typename F>
int64_t WaitMs(F pred, int timeout_ms) {
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::milliseconds(timeout_ms)) {
    if (pred()) return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return -1;
}

class TrustE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override {
    HostExec("api", {"sh", "-c", "rmdir " + StateDir() + "/hosts/api/audit.log 2>/dev/null; "
                     "rmdir /run/failover-agent/lease.tmp 2>/dev/null; systemctl stop 'sls-extra@*.service'; true"});
    HostExec("api", {"systemctl", "restart", "failover-agent.service"});  // no lease left from the test
    ResetTestBed();
  }
};

TEST_F(TrustE2E, AgentRefusesAStepItCannotAuditAndLeavesTheUnitUntouched) {
  const std::string audit = StateDir() + "/hosts/api/audit.log";
  HostExec("api", {"sh", "-c", "rm -f " + audit + " && mkdir " + audit});  // open(): Is a directory
  const uint32_t pid = MainPid("api", "sls-api.service");
  auto stub = ApiAgent();
  v1::AgentEvent done = Execute(stub.get(), Step("trust-audit", v1::OPERATION_RESTART, "sls-api.service", 20000, 60000));
  Release(stub.get(), "trust-audit");
  EXPECT_FALSE(done.ok());
  EXPECT_NE(done.message().find("cannot open audit log " + audit + ": Is a directory"), std::string::npos)
      << done.message();
  EXPECT_EQ(MainPid("api", "sls-api.service"), pid) << "the unit was restarted without an audit entry";
}

TEST_F(TrustE2E, AgentRefusesToStopWhatItCannotHold) {
  HostExec("api", {"mkdir", "-p", "/run/failover-agent/lease.tmp"});  // the lease table cannot be written
  const uint32_t pid = MainPid("api", "sls-api.service");
  auto stub = ApiAgent();
  v1::AgentEvent done = Execute(stub.get(), Step("trust-hold", v1::OPERATION_STOP, "sls-api.service", 20000, 60000));
  Release(stub.get(), "trust-hold");
  EXPECT_FALSE(done.ok());
  EXPECT_NE(done.message().find("/run/failover-agent/lease.tmp"), std::string::npos) << done.message();
  EXPECT_EQ(ActiveState("api", "sls-api.service"), "active");
  EXPECT_EQ(MainPid("api", "sls-api.service"), pid);
}

TEST_F(TrustE2E, AFrozenAgentDoesNotRenewALeaseItsCoordinatorGaveUp) {
  // Lease 10 s (covers the unit's 5 s + 5 s); the stop takes 3 s (ExecStop=sleep 3).
  auto stub = ApiAgent();
  std::thread step([&] { Execute(stub.get(), Step("trust-frozen", v1::OPERATION_STOP, "sls-slowstop.service", 5000, 10000), 60); });
  ASSERT_GE(WaitMs([] { return ActiveState("api", "sls-slowstop.service") == "deactivating"; }, 5000), 0);
  const auto acquired = Clock::now();  // the step's Acquire: the coordinator's last word
  HostExec("api", {"systemctl", "kill", "-s", "SIGSTOP", "failover-agent.service"});
  std::this_thread::sleep_for(std::chrono::seconds(13));  // the coordinator gives up; the lease runs out
  ASSERT_EQ(ActiveState("api", "sls-slowstop.service"), "inactive");
  HostExec("api", {"systemctl", "kill", "-s", "SIGCONT", "failover-agent.service"});
  const auto resumed = Clock::now();
  const int64_t back_ms = WaitMs([] { return ActiveState("api", "sls-slowstop.service") == "active"; }, 20000);
  step.join();
  const int64_t since_lease_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(resumed - acquired).count() + back_ms;
  std::cout << "FROZEN-AGENT unit back " << back_ms << " ms after SIGCONT, " << since_lease_ms
            << " ms after the last coordinator renewal (lease 10000 ms)" << std::endl;
  ASSERT_GE(back_ms, 0) << "the unit never came back";
  EXPECT_LT(back_ms, 4000) << "the agent renewed the lease itself after SIGCONT";
}

TEST_F(TrustE2E, AgentReadsTheUnitsTimeoutsAndRefusesALeaseShorterThanThem) {
  auto stub = ApiAgent();
  grpc::ClientContext ctx;
  v1::GetStateRequest req;
  req.add_units("sls-api.service");
  v1::GetStateResponse resp;
  ASSERT_TRUE(stub->GetState(&ctx, req, &resp).ok());
  ASSERT_EQ(resp.units_size(), 1);
  EXPECT_EQ(resp.units(0).timeout_start_us(), 20'000'000u);  // TimeoutStartSec=20s in the payload
  EXPECT_EQ(resp.units(0).timeout_stop_us(), 10'000'000u);   // TimeoutStopSec=10s
  const uint32_t pid = MainPid("api", "sls-api.service");
  v1::AgentEvent done = Execute(stub.get(), Step("trust-timeouts", v1::OPERATION_RESTART, "sls-api.service", 20000, 25000));
  Release(stub.get(), "trust-timeouts");
  EXPECT_FALSE(done.ok());
  EXPECT_NE(done.message().find("TimeoutStopUSec 10000 ms + TimeoutStartUSec 20000 ms"), std::string::npos)
      << done.message();
  EXPECT_EQ(MainPid("api", "sls-api.service"), pid);
}

TEST_F(TrustE2E, AnAgentsCertificateCannotActAsAClientOfAnotherAgent) {
  auto as_cerebro = ApiAgent("cerebro");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetStateRequest req;
  req.add_units("sls-api.service");
  v1::GetStateResponse resp;
  grpc::Status s = as_cerebro->GetState(&ctx, req, &resp);
  // Refused at the handshake (UNAVAILABLE), not after it by the allowlist (PERMISSION_DENIED).
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  const std::string certs = StateDir() + "/certs";
  absl::Status probe = ProbeTlsHandshake("10.77.0.11:7700", {certs + "/ca.pem", certs + "/cerebro.pem",
                                         certs + "/cerebro.key"}, "api", std::chrono::seconds(3));
  EXPECT_NE(probe.message().find("refused our certificate"), std::string::npos) << probe.message();
}

TEST_F(TrustE2E, AHostWithAHundredUnitsIsPlannedAndRun) {
  std::string hosts = "hosts:\n  api: {agent: \"10.77.0.11:7700\", units: [", services = "services:\n", order;
  for (int i = 1; i <= 100; ++i) {
    absl::StrAppend(&hosts, i > 1 ? ", " : "", "sls-extra@", i, ".service");
    absl::StrAppend(&services, "  - {name: sls-extra-", i, ", unit: sls-extra@", i, ".service}\n");
    absl::StrAppend(&order, i > 1 ? ", " : "", "sls-extra-", i);
  }
  const std::string path = StateDir() + "/hundred.yaml";
  std::ofstream(path) << "defaults:\n  mode: rolling\n  failure_policy: abort\n  max_parallel: 1\n"
                      << "  job_timeout_ms: 5000\n  lease_ms: 60000\n  call_timeout_ms: 3000\n"
                      << "  healthy_for_ms: 50\n"  // 100 restarts: a short settle window keeps the test short
                      << hosts << "]}\n" << services << "order: [" << order << "]\n";
  Coordinator coord("hundred");
  CmdResult plan = coord.Ctl({"run", "-c", path});
  EXPECT_EQ(plan.rc, 0) << plan.out << plan.err;
  EXPECT_EQ(plan.out.find("unreachable"), std::string::npos) << plan.out;
  CmdResult run = coord.Ctl({"run", "--execute", "-c", path});
  EXPECT_EQ(run.rc, 0) << run.out << run.err;
  EXPECT_EQ(ActiveState("api", "sls-extra@1.service"), "active");
  EXPECT_EQ(ActiveState("api", "sls-extra@100.service"), "active");
}

int Listener(int* port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  listen(fd, 8);  // the kernel accepts; nobody ever answers the TLS handshake
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

TEST(TrustEdge, FailoverctlGivesUpOnAStalledHandshakeWithinTheConnectTimeout) {
  int port = 0;
  const int fd = Listener(&port);
  const std::string certs = StateDir() + "/certs";
  std::vector<std::string> argv = {BinDir() + "/failoverctl", "--coordinator", absl::StrCat("127.0.0.1:", port),
                                   "--tls-server-name", "coordinator", "--tls-ca", certs + "/ca.pem", "--tls-cert",
                                   certs + "/operator.pem", "--tls-key", certs + "/operator.key"};
  auto t0 = Clock::now();
  std::vector<std::string> with_flag = argv;
  with_flag.insert(with_flag.end(), {"--connect-timeout", "1", "plan"});
  CmdResult quick = RunCmd(with_flag, {}, 30);
  const auto quick_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  t0 = Clock::now();
  argv.push_back("plan");
  CmdResult fallback = RunCmd(argv, {}, 30);
  const auto default_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count();
  close(fd);
  std::cout << "STALLED-HANDSHAKE --connect-timeout 1: " << quick_ms << " ms; default: " << default_ms << " ms"
            << std::endl;
  EXPECT_NE(quick.rc, 0);
  EXPECT_NE(quick.err.find("no TLS handshake with 127.0.0.1:"), std::string::npos) << quick.err;
  EXPECT_LT(quick_ms, 3000);
  EXPECT_NE(fallback.rc, 0);
  EXPECT_LT(default_ms, 8000) << "the default connect timeout is 5 s, not gRPC's 20 s";
}

TEST(TrustEdge, FailoverctlNamesAnExpiredOrForeignCertificateBeforeConnecting) {
  const std::string certs = StateDir() + "/certs";
  CmdResult r = RunCmd({BinDir() + "/failoverctl", "--coordinator", "127.0.0.1:1", "--tls-server-name", "coordinator",
                        "--tls-ca", certs + "/ca.pem", "--tls-cert", StateDir() + "/certs-other/coordinator.pem",
                        "--tls-key", StateDir() + "/certs-other/coordinator.key", "plan"},
                       {}, 30);
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("is not signed by the CA " + certs + "/ca.pem"), std::string::npos) << r.err;
}

TEST(TrustEdge, ATcpCoordinatorWithoutAllowedClientsRefusesToStart) {
  const std::string certs = StateDir() + "/certs";
  CmdResult r = RunCmd({BinDir() + "/failover-coordinator", "--config", StateDir() + "/sls.yaml", "--listen",
                        "127.0.0.1:17795", "--tls-ca", certs + "/ca.pem", "--tls-cert", certs + "/coordinator.pem",
                        "--tls-key", certs + "/coordinator.key"},
                       {}, 10);
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--allowed-clients is required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace failover::e2e
