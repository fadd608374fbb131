// Publishing reports (issue 8): `failoverctl report RUN --publish NAME` against a real coordinator
// and a local stand-in for Confluence's and Notion's page APIs (tests/e2e/publish_receiver.py,
// loopback, stopped by PID), which checks each request against the documented shape.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "coordinator/history_store.h"
#include "failover/v1/coordinator.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "harness.h"

namespace failover::e2e {
namespace {

constexpr char kToken[] = "pub-e2e-token-7f3a9c";

template <typename M>
M ParseJson(const std::string& text) {
  M m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(text, &m, o).ok()) << text.substr(0, 500);
  return m;
}

// The page-API stand-in on 127.0.0.1:`port`, killed by PID at the end (also when a test fails).
class PublishReceiver {
 public:
  PublishReceiver(int port, int fail_first) : port_(port), out_(StateDir() + "/publish-" + std::to_string(port) + ".jsonl") {
    std::remove(out_.c_str());
    CmdResult r = RunCmd({"bash", "-c",
                          "python3 " + RepoDir() + "/tests/e2e/publish_receiver.py --port " + std::to_string(port) +
                              " --out " + out_ + " --fail-first " + std::to_string(fail_first) + " --token " + kToken +
                              " --space-key OPS --parent-page parent-page-1 >/dev/null 2>&1 & echo $!"});
    pid_ = std::stoi(r.out);
    WaitForMs([&] { return RunCmd({"bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + std::to_string(port)}).rc == 0; },
              5000);
  }
  ~PublishReceiver() {
    kill(pid_, SIGTERM);
    WaitForMs([&] { return kill(pid_, 0) != 0; }, 2000);
  }
  std::vector<std::string> Lines() const {
    std::vector<std::string> out;
    std::istringstream in(ReadFileOrEmpty(out_));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::string out_;
  pid_t pid_ = -1;
};

// The test bed's coordinator config with a publish: list; the token from a file (0600).
std::string ConfigWithPublish(const std::string& name, const std::string& destinations) {
  const std::string token_file = StateDir() + "/" + name + ".token";
  std::ofstream(token_file) << kToken << "\n";
  std::filesystem::permissions(token_file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  std::string d = destinations;
  for (size_t at = d.find("TOKEN_FILE"); at != std::string::npos; at = d.find("TOKEN_FILE"))
    d.replace(at, 10, token_file);
  const std::string path = StateDir() + "/" + name + ".yaml";
  std::ofstream(path) << ReadFileOrEmpty(StateDir() + "/sls.yaml") << "publish:\n" << d;
  return path;
}

v1::Report ReportOf(const Coordinator& c, const std::string& id = "") {
  std::vector<std::string> args = {"report", "-o", "json"};
  if (!id.empty()) args.insert(args.begin() + 1, id);
  return ParseJson<v1::Report>(c.Ctl(args).out);
}

// Polls the report until its first publication is no longer pending; returns it.
v1::PublishStatus WaitPublished(const Coordinator& c, const std::string& id, int timeout_ms) {
  v1::PublishStatus last;
  WaitForMs(
      [&] {
        v1::Report r = ReportOf(c, id);
        if (r.publications().empty()) return false;
        last = r.publications(0);
        return last.state() != v1::PUBLISH_PENDING;
      },
      timeout_ms);
  return last;
}

void ExpectNoToken(const Coordinator& c, const std::string& id) {
  EXPECT_EQ(ReadFileOrEmpty(c.state_dir() + "/coordinator.log").find(kToken), std::string::npos)
      << "the token is in the coordinator's log";
  for (const char* fmt : {"text", "json", "md"})
    EXPECT_EQ(c.Ctl({"report", id, "-o", fmt}).out.find(kToken), std::string::npos) << "token in report -o " << fmt;
}

class PublishE2E : public ::testing::Test {
 protected:
  void SetUp() override { ResetTestBed(); }
  void TearDown() override { ResetTestBed(); }
};

TEST_F(PublishE2E, ConfluencePageCreatedWithTheDocumentedRequestShape) {
  PublishReceiver rx(18951, 0);
  const std::string cfg = ConfigWithPublish(
      "pub-confluence", "  - {name: wiki, kind: confluence, url: \"" + rx.Url() +
                            "\", space_key: OPS, ancestor_id: \"77\", token: {file: TOKEN_FILE}}\n");
  Coordinator c("pub-confluence", {"--config", cfg});
  ASSERT_EQ(c.Ctl({"run", "--execute", "--services", "sls-bot"}).rc, 0);
  const std::string id = ReportOf(c).run_id();
  CmdResult pub = c.Ctl({"report", id, "--publish", "wiki"});
  EXPECT_EQ(pub.rc, 0) << pub.out << pub.err;
  EXPECT_NE(pub.out.find("published run " + id + " to wiki (confluence): page 1001"), std::string::npos) << pub.out;
  const auto lines = rx.Lines();
  ASSERT_EQ(lines.size(), 1u);
  const std::string& l = lines[0];
  EXPECT_NE(l.find("\"method\": \"POST\", \"path\": \"/rest/api/content\", \"status\": 200, \"problems\": []"),
            std::string::npos) << l.substr(0, 600);
  EXPECT_NE(l.find("\"ancestors\": [{\"id\": \"77\"}]"), std::string::npos) << l.substr(0, 600);
  EXPECT_NE(l.find("\"representation\": \"storage\""), std::string::npos);
  EXPECT_NE(l.find(id), std::string::npos) << "the storage XHTML names the run";
  EXPECT_NE(l.find("<h2>Operations executed</h2><table><tbody><tr><th>Started</th>"), std::string::npos)
      << "the operations table is in the storage XHTML";
  EXPECT_NE(l.find("sls-bot.service"), std::string::npos);
  v1::Report r = ReportOf(c, id);
  ASSERT_EQ(r.publications_size(), 1);
  EXPECT_EQ(r.publications(0).state(), v1::PUBLISH_DELIVERED);
  EXPECT_EQ(r.publications(0).page_id(), "1001");
  EXPECT_EQ(r.publications(0).page_url(), rx.Url() + "/wiki/spaces/OPS/pages/1001");
  auto runs = ParseJson<v1::HistoryListRunsResponse>(c.Ctl({"runs", "-o", "json"}).out);
  ASSERT_GE(runs.runs_size(), 1);
  ASSERT_EQ(runs.runs(0).publications_size(), 1) << "runs -o json shows the publish status";
  EXPECT_EQ(runs.runs(0).publications(0).destination(), "wiki");
  ExpectNoToken(c, id);
}

TEST_F(PublishE2E, NotionPageCreatedWithinNotionsBlockLimits) {
  PublishReceiver rx(18952, 0);
  const std::string cfg = ConfigWithPublish(
      "pub-notion", "  - {name: notes, kind: notion, url: \"" + rx.Url() +
                        "\", parent_page_id: parent-page-1, token: {file: TOKEN_FILE}}\n");
  Coordinator c("pub-notion", {"--config", cfg});
  ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
  // A real report made large: 250 error lines (bullets) and one 5000-character line, recorded in the
  // coordinator's own history file beside it (WAL: the coordinator keeps it open).
  v1::Report big = ReportOf(c);
  big.set_run_id(big.run_id() + "-big");
  big.set_started_at_unix_us(big.started_at_unix_us() + 1);
  for (int i = 0; i < 250; ++i) big.add_errors("synthetic error line " + std::to_string(i));
  big.add_errors(std::string(5000, 'z'));
  {
    coordinator::HistoryStore h(c.state_dir() + "/state/history.sqlite");
    ASSERT_TRUE(h.Insert(big).ok());
  }
  CmdResult pub = c.Ctl({"report", big.run_id(), "--publish", "notes"});
  EXPECT_EQ(pub.rc, 0) << pub.out << pub.err;
  EXPECT_NE(pub.out.find("https://www.notion.so/page-1"), std::string::npos) << pub.out;
  const auto lines = rx.Lines();
  ASSERT_EQ(lines.size(), 3u) << "one create and two appends (250+ blocks, 100 per request)";
  auto blocks_in = [](const std::string& line) {
    int n = 0;
    for (size_t at = line.find("\"object\": \"block\""); at != std::string::npos;
         at = line.find("\"object\": \"block\"", at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(blocks_in(lines[0]), 100) << "the create request carries the first 100 blocks";
  EXPECT_EQ(blocks_in(lines[1]), 100);
  EXPECT_GT(blocks_in(lines[2]), 50);
  EXPECT_NE(lines[0].find("\"method\": \"POST\", \"path\": \"/v1/pages\", \"status\": 200, \"problems\": []"),
            std::string::npos) << lines[0].substr(0, 600);
  EXPECT_NE(lines[0].find("\"Notion-Version\": \"2022-06-28\""), std::string::npos);
  for (size_t i = 1; i < lines.size(); ++i)
    EXPECT_NE(lines[i].find("\"method\": \"PATCH\", \"path\": \"/v1/blocks/page-1/children\", \"status\": 200, "
                            "\"problems\": []"),
              std::string::npos) << lines[i].substr(0, 600);
  EXPECT_EQ(ReportOf(c, big.run_id()).publications(0).state(), v1::PUBLISH_DELIVERED);
  ExpectNoToken(c, big.run_id());
}

TEST_F(PublishE2E, AFailedPublishIsRetriedAndDelivered) {
  PublishReceiver rx(18953, /*fail_first=*/2);
  const std::string cfg = ConfigWithPublish(
      "pub-retry", "  - {name: hook, kind: webhook, url: \"" + rx.Url() + "/hook\", token: {file: TOKEN_FILE}, "
                   "retry_ms: 300}\n");
  Coordinator c("pub-retry", {"--config", cfg});
  ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
  const std::string id = ReportOf(c).run_id();
  CmdResult pub = c.Ctl({"report", id, "--publish", "hook"});
  EXPECT_EQ(pub.rc, 1) << "the first attempt got 503: " << pub.out << pub.err;
  EXPECT_NE(pub.out.find("not delivered yet: webhook answered HTTP 503"), std::string::npos) << pub.out;
  EXPECT_NE(pub.out.find("will retry"), std::string::npos) << pub.out;
  const v1::PublishStatus p = WaitPublished(c, id, 15000);
  EXPECT_EQ(p.state(), v1::PUBLISH_DELIVERED) << p.last_error();
  EXPECT_EQ(p.attempts(), 3u);
  const auto lines = rx.Lines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("\"status\": 503"), std::string::npos);
  EXPECT_NE(lines[1].find("\"status\": 503"), std::string::npos);
  EXPECT_NE(lines[2].find("\"status\": 200, \"problems\": []"), std::string::npos) << lines[2].substr(0, 400);
  EXPECT_NE(lines[2].find("\"run_id\": \"" + id + "\""), std::string::npos);
  ExpectNoToken(c, id);
}

TEST_F(PublishE2E, AQueuedPublishSurvivesACoordinatorRestart) {
  PublishReceiver rx(18954, /*fail_first=*/1);
  const std::string cfg = ConfigWithPublish(
      "pub-restart", "  - {name: wiki, kind: confluence, url: \"" + rx.Url() +
                         "\", space_key: OPS, token: {file: TOKEN_FILE}, retry_ms: 4000}\n");
  std::string id;
  {
    Coordinator c("pub-restart", {"--config", cfg});
    ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
    id = ReportOf(c).run_id();
    CmdResult pub = c.Ctl({"report", id, "--publish", "wiki"});
    EXPECT_EQ(pub.rc, 1) << pub.out << pub.err;
    EXPECT_NE(pub.out.find("not delivered yet"), std::string::npos) << pub.out;
  }  // SIGTERM before the retry (4 s) is due
  ASSERT_EQ(rx.Lines().size(), 1u);
  Coordinator c("pub-restart", {"--config", cfg}, /*keep_state=*/true);
  const v1::PublishStatus p = WaitPublished(c, id, 15000);
  EXPECT_EQ(p.state(), v1::PUBLISH_DELIVERED) << p.last_error();
  EXPECT_EQ(p.attempts(), 2u);
  EXPECT_EQ(p.page_id(), "1001");
  const auto lines = rx.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("\"status\": 200, \"problems\": []"), std::string::npos) << lines[1].substr(0, 400);
  ExpectNoToken(c, id);
}

TEST_F(PublishE2E, UnknownDestinationIsRefusedAndAudited) {
  PublishReceiver rx(18955, 0);
  const std::string cfg = ConfigWithPublish(
      "pub-unknown", "  - {name: wiki, kind: confluence, url: \"" + rx.Url() +
                         "\", space_key: OPS, token: {file: TOKEN_FILE}}\n");
  Coordinator c("pub-unknown", {"--config", cfg});
  ASSERT_EQ(c.Ctl({"run", "--services", "sls-bot"}).rc, 0);
  const std::string id = ReportOf(c).run_id();
  CmdResult pub = c.Ctl({"report", id, "--publish", "http://127.0.0.1:18955/steal"});
  EXPECT_EQ(pub.rc, 2) << pub.out << pub.err;
  EXPECT_NE(pub.err.find("is not a destination of this coordinator (configured: wiki)"), std::string::npos) << pub.err;
  const std::string log = ReadFileOrEmpty(c.state_dir() + "/coordinator.log");
  EXPECT_NE(log.find("[audit] publish by unix socket refused"), std::string::npos) << log.substr(0, 2000);
  EXPECT_TRUE(rx.Lines().empty()) << "nothing was sent anywhere";
  EXPECT_TRUE(ReportOf(c, id).publications().empty());
  ExpectNoToken(c, id);
}

}  // namespace
}  // namespace failover::e2e
