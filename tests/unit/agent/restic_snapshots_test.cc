// The restic source against the real restic binary (Debian's restic) on a repository made here,
// and a stand-in binary that hangs, for the timeout.
#include "agent/restic_snapshots.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "failover/probe_checks.h"
#include "gtest/gtest.h"

namespace failover::agent {
namespace {

namespace fs = std::filesystem;

class ResticRepo : public ::testing::Test {
 protected:
  void SetUp() override {
    // A missing restic is a set-up error, not a reason to skip: the probe's proof is the real binary.
    ASSERT_TRUE(fs::exists("/usr/bin/restic")) << "restic is not installed: run deploy/install-deps.sh";
    dir_ = fs::temp_directory_path() / absl::StrCat("restic-test-", getpid(), "-", ::testing::UnitTest::GetInstance()->random_seed());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "pw") << "correct horse\n";
    std::ofstream(dir_ / "wrong") << "wrong horse\n";
    std::ofstream(dir_ / "data.txt") << "payload\n";
    Sh(absl::StrCat("RESTIC_PASSWORD_FILE=", (dir_ / "pw").string(), " restic init --quiet -r ", (dir_ / "repo").string()));
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void Sh(const std::string& cmd) { ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd; }
  void Backup(const std::string& extra) {
    Sh(absl::StrCat("RESTIC_PASSWORD_FILE=", (dir_ / "pw").string(), " restic backup --quiet --no-cache -r ",
                    (dir_ / "repo").string(), " --host api ", extra, " ", (dir_ / "data.txt").string()));
  }
  ResticSnapshots Source() {
    return ResticSnapshots({{"backups", {(dir_ / "repo").string(), (dir_ / "pw").string()}},
                            {"wrong", {(dir_ / "repo").string(), (dir_ / "wrong").string()}}});
  }
  v1::ResticProbe Probe(const std::string& name) {
    v1::ResticProbe p;
    p.set_repository(name);
    p.set_max_age_ms(3600'000);
    return p;
  }
  fs::path dir_;
};

TEST_F(ResticRepo, AFreshSnapshotIsListedAndPasses) {
  Backup("");
  auto json = Source().LatestSnapshotsJson(Probe("backups"), 10000);
  ASSERT_TRUE(json.ok()) << json.status();
  const int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  ProbeVerdict v = EvaluateResticSnapshots(Probe("backups"), *json, now);
  EXPECT_TRUE(v.healthy) << v.detail;
}

TEST_F(ResticRepo, AStaleSnapshotFailsNamingItsTime) {
  Backup("--time '2020-01-01 00:00:00'");
  auto json = Source().LatestSnapshotsJson(Probe("backups"), 10000);
  ASSERT_TRUE(json.ok()) << json.status();
  ProbeVerdict v = EvaluateResticSnapshots(Probe("backups"), *json, 1'800'000'000'000'000);
  EXPECT_FALSE(v.healthy);
  EXPECT_NE(v.detail.find("latest snapshot 2020-01-01T"), std::string::npos) << v.detail;
}

TEST_F(ResticRepo, AHostFilterWithoutSnapshotsAnswersNoSnapshot) {
  Backup("");
  v1::ResticProbe p = Probe("backups");
  p.set_host("cerebro");
  auto json = Source().LatestSnapshotsJson(p, 10000);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(EvaluateResticSnapshots(p, *json, 0).detail, "no snapshot");
}

TEST_F(ResticRepo, AWrongPasswordIsResticsClearComplaintWithoutThePassword) {
  auto json = Source().LatestSnapshotsJson(Probe("wrong"), 10000);
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(json.status().message().find("wrong password"), std::string::npos) << json.status();
  EXPECT_EQ(json.status().message().find("horse"), std::string::npos) << json.status();
}

TEST_F(ResticRepo, AnUnknownRepositoryNameIsNotFound) {
  auto json = Source().LatestSnapshotsJson(Probe("elsewhere"), 10000);
  EXPECT_EQ(json.status().code(), absl::StatusCode::kNotFound);
}

TEST(ResticSnapshots, ABinaryThatHangsIsKilledAtTheTimeout) {
  const std::string script = fs::temp_directory_path() / absl::StrCat("restic-hang-", getpid());
  std::ofstream(script) << "#!/bin/sh\nsleep 30\n";
  fs::permissions(script, fs::perms::owner_all);
  ResticSnapshots source({{"backups", {"/nonexistent", "/nonexistent"}}}, script);
  v1::ResticProbe p;
  p.set_repository("backups");
  const auto t0 = std::chrono::steady_clock::now();
  auto json = source.LatestSnapshotsJson(p, 300);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  fs::remove(script);
  EXPECT_EQ(json.status().code(), absl::StatusCode::kDeadlineExceeded) << json.status();
  EXPECT_LT(ms, 2000);
}

TEST(ResticSnapshots, TheArgvCarriesFiltersAsSingleOptionWords) {
  v1::ResticProbe p;
  p.set_host("api");
  p.set_tag("nightly");
  EXPECT_EQ(ResticSnapshotsArgv("/usr/bin/restic", p),
            (std::vector<std::string>{"/usr/bin/restic", "snapshots", "--json", "--latest", "1", "--no-lock",
                                      "--no-cache", "--host=api", "--tag=nightly"}));
}

}  // namespace
}  // namespace failover::agent
