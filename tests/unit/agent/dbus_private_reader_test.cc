// DbusPrivateReader against a real sd-bus peer: a Unix socket served by libsystemd's own server
// side (sd_bus_set_server), whose object answers Properties.Get like systemd's unit objects. The
// agent's real use, against PID 1's /run/systemd/private, is proven on the test bed
// (FailoverE2E.AgentsReadUnitStateOverSystemdsPrivateSocket).
#include "agent/dbus_private_reader.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "eventually.h"

namespace failover::agent {
namespace {

constexpr char kPath[] = "/org/freedesktop/systemd1/unit/sls_2dapi_2eservice";
constexpr char kUnitIface[] = "org.freedesktop.systemd1.Unit";
constexpr char kServiceIface[] = "org.freedesktop.systemd1.Service";

int GetActiveState(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "s", "active");
}
int GetTimestamp(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "t", uint64_t{1732900000123456});
}
int GetMainPid(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "u", uint32_t{4242});
}
int GetExecMainStatus(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*, sd_bus_error*) {
  return sd_bus_message_append(reply, "i", int32_t{-3});
}

const sd_bus_vtable kUnitVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("ActiveState", "s", GetActiveState, 0, 0),
    SD_BUS_PROPERTY("StateChangeTimestamp", "t", GetTimestamp, 0, 0),
    SD_BUS_VTABLE_END};
const sd_bus_vtable kServiceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_PROPERTY("MainPID", "u", GetMainPid, 0, 0),
    SD_BUS_PROPERTY("ExecMainStatus", "i", GetExecMainStatus, 0, 0),
    SD_BUS_VTABLE_END};

// A peer on a Unix socket in a temp dir, like systemd's private socket: each connection it
// accepts is served on its own thread, as `mode` says: answered, never answered (a frozen
// systemd), or closed at once (systemd re-executing drops its private connections).
class FakeSystemdPeer {
 public:
  FakeSystemdPeer() {
    char tmpl[] = "/tmp/private-reader-XXXXXX";
    const char* dir = mkdtemp(tmpl);
    if (dir == nullptr) ADD_FAILURE() << "mkdtemp: " << std::strerror(errno);
    dir_ = dir != nullptr ? dir : "/tmp";
    path_ = dir_ + "/private";
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
    EXPECT_EQ(listen(listen_fd_, 4), 0);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~FakeSystemdPeer() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    close(listen_fd_);
    for (auto& t : served_) t.join();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  std::string address() const { return "unix:path=" + path_; }
  enum class Mode { kAnswer, kSilent, kHangUp };
  std::atomic<Mode> mode{Mode::kAnswer};
  int accepted() const { return accepted_; }
  int open() const { return open_; }  // connections not yet closed by either side
  // What systemd does to every private connection: unit and job signals, here `n` at once on
  // each open connection.
  void Flood(int n) {
    queued_ = UINT64_MAX;  // not yet seen after this flood
    flood_ = n;
  }
  // A systemd that stops answering on connections that are set up (auth done).
  void Stall(bool on) { stall_ = on; }
  int flooded() const { return flooded_; }
  uint64_t queued() const { return queued_; }  // messages in the peer's write queue, last seen
  void HangUpNow() { ++hang_ups_; }  // the connections open now

 private:
  void Accept() {
    while (!stop_) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      ++accepted_;
      ++open_;
      served_.emplace_back([this, fd] { Serve(fd); });
    }
  }
  void Serve(int fd) {
    const Mode m = mode;
    if (m != Mode::kAnswer) {
      char buf[256];
      if (m == Mode::kHangUp) (void)recv(fd, buf, sizeof(buf), 0);  // the client's auth: it is connected
      while (m == Mode::kSilent && !stop_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      close(fd);
      --open_;
      return;
    }
    sd_bus* bus = nullptr;
    sd_id128_t id;
    sd_id128_randomize(&id);
    if (sd_bus_new(&bus) < 0 || sd_bus_set_fd(bus, fd, fd) < 0 || sd_bus_set_server(bus, 1, id) < 0 ||
        sd_bus_set_anonymous(bus, 1) < 0 ||
        sd_bus_add_object_vtable(bus, nullptr, kPath, kUnitIface, kUnitVtable, nullptr) < 0 ||
        sd_bus_add_object_vtable(bus, nullptr, kPath, kServiceIface, kServiceVtable, nullptr) < 0 ||
        sd_bus_start(bus) < 0) {
      ADD_FAILURE() << "the fake peer could not start";
    } else {
      const int hang_ups = hang_ups_;
      while (!stop_ && hang_ups_ == hang_ups) {
        if (stall_) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        int r = sd_bus_process(bus, nullptr);
        if (r < 0) break;  // the client went away
        for (int n = flood_.exchange(0), i = 0; i < n; ++i)
          if (sd_bus_emit_signal(bus, "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "UnitNew", "so",
                                 "sls-api.service", kPath) >= 0)
            ++flooded_;
        uint64_t q = 0;
        if (sd_bus_get_n_queued_write(bus, &q) >= 0) queued_ = q;
        if (r > 0) continue;
        if (sd_bus_wait(bus, 20000) < 0) break;
      }
    }
    sd_bus_close_unref(bus);  // closes fd
    --open_;
  }

  std::string dir_, path_;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false}, stall_{false};
  std::atomic<int> open_{0}, accepted_{0}, flood_{0}, flooded_{0}, hang_ups_{0};
  std::atomic<uint64_t> queued_{0};
  std::thread acceptor_;
  std::vector<std::thread> served_;  // only the acceptor adds; joined after it ends
};

std::vector<DbusPrivateReader::Get> Gets(std::vector<std::pair<const char*, const char*>> props) {
  std::vector<DbusPrivateReader::Get> gets;
  for (const auto& [iface, name] : props) gets.push_back({kPath, iface, name});
  return gets;
}

TEST(DbusPrivateReader, ReadsStringsTimestampsPidsAndSignedStatusFromThePeerInOneRoundOfCalls) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  auto answers = reader.Read(Gets({{kUnitIface, "ActiveState"},
                                   {kUnitIface, "StateChangeTimestamp"},
                                   {kServiceIface, "MainPID"},
                                   {kServiceIface, "ExecMainStatus"}}),
                             std::chrono::seconds(5));
  ASSERT_TRUE(answers.ok()) << answers.status();
  ASSERT_EQ(answers->size(), 4u);
  for (const auto& a : *answers) ASSERT_TRUE(a.value.has_value()) << (a.error ? a.error->getMessage() : "");
  EXPECT_EQ((*answers)[0].value->get<std::string>(), "active");
  EXPECT_EQ((*answers)[1].value->get<uint64_t>(), 1732900000123456u);
  EXPECT_EQ((*answers)[2].value->get<uint32_t>(), 4242u);
  EXPECT_EQ((*answers)[3].value->get<int32_t>(), -3);
  EXPECT_EQ(reader.reads(), 1u);
}

TEST(DbusPrivateReader, APropertyThePeerDoesNotHaveIsThatGetsErrorNotTheWholeRead) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  auto answers = reader.Read(Gets({{kUnitIface, "ActiveState"}, {kServiceIface, "NRestarts"}}), std::chrono::seconds(5));
  ASSERT_TRUE(answers.ok()) << answers.status();
  EXPECT_EQ((*answers)[0].value->get<std::string>(), "active");
  ASSERT_TRUE((*answers)[1].error.has_value());
  EXPECT_FALSE((*answers)[1].value.has_value());
  EXPECT_NE((*answers)[1].error->getName().find("UnknownProperty"), std::string::npos) << (*answers)[1].error->getName();
}

TEST(DbusPrivateReader, NoSocketAtTheAddressIsUnavailableNamingItAndReadsNothing) {
  DbusPrivateReader reader("unix:path=/nonexistent/failover-test/private");
  auto answers = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(1));
  ASSERT_FALSE(answers.ok());
  EXPECT_EQ(answers.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(answers.status().message().find("/nonexistent/failover-test/private"), std::string::npos)
      << answers.status();
  EXPECT_EQ(reader.reads(), 0u);
}

TEST(DbusPrivateReader, AnEmptyAddressTurnsItOff) {
  DbusPrivateReader reader("");
  auto answers = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(1));
  EXPECT_EQ(answers.status().code(), absl::StatusCode::kUnavailable);
}

TEST(DbusPrivateReader, ReadsShareOneKeptConnection) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)).ok());
  EXPECT_EQ(peer.accepted(), 1);
  EXPECT_EQ(peer.open(), 1);
  EXPECT_EQ(reader.reads(), 3u);
}

TEST(DbusPrivateReader, SignalsThePeerSendsBetweenReadsAreDrainedNotLeftQueuedInThePeer) {
  // systemd sends every unit and job signal to every private connection: a kept connection
  // nobody reads would queue them in PID 1. 20,000 signals are megabytes, far more than the
  // socket's buffers hold: the peer's queue empties only if the reader reads them while idle.
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  ASSERT_TRUE(reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)).ok());
  peer.Flood(20000);
  EXPECT_TRUE(Eventually([&] { return peer.flooded() == 20000 && peer.queued() == 0; }))
      << "sent " << peer.flooded() << ", still queued in the peer: " << peer.queued();
  auto after = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ((*after)[0].value->get<std::string>(), "active");
  EXPECT_EQ(peer.accepted(), 1);
}

TEST(DbusPrivateReader, APeerThatHangsUpBetweenReadsIsNoticedByTheDrainAndTheNextReadConnectsAgain) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  ASSERT_TRUE(reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)).ok());
  peer.HangUpNow();  // systemd re-executing drops its private connections
  EXPECT_TRUE(Eventually([&] { return !reader.connected(); })) << "the drain did not see the hang-up";
  auto again = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(peer.accepted(), 2);
}

TEST(DbusPrivateReader, AConnectionNoReadUsesIsClosedSoPid1QueuesNothingForAnIdleAgent) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address(), {.idle_close = std::chrono::milliseconds(100)});
  ASSERT_TRUE(reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)).ok());
  EXPECT_TRUE(Eventually([&] { return !reader.connected() && peer.open() == 0; }));
  auto again = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(peer.accepted(), 2);
}

TEST(DbusPrivateReader, AReadThatTimesOutEndsTheOtherReadsOnItsConnectionAsUnavailableNotHung) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  ASSERT_TRUE(reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)).ok());
  peer.Stall(true);  // set up, then silent
  absl::StatusOr<std::vector<DbusPrivateReader::Answer>> shorter, longer;
  const auto t0 = std::chrono::steady_clock::now();
  std::thread a([&] { shorter = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::milliseconds(200)); });
  std::thread b([&] { longer = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5)); });
  a.join();
  b.join();
  EXPECT_EQ(shorter.status().code(), absl::StatusCode::kDeadlineExceeded) << shorter.status();
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kUnavailable) << longer.status();  // the caller reads the bus
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(DbusPrivateReader, ReadsFromSeveralThreadsAtOnceEachGetTheirAnswers) {
  FakeSystemdPeer peer;
  DbusPrivateReader reader(peer.address());
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto a = reader.Read(Gets({{kUnitIface, "ActiveState"}, {kServiceIface, "MainPID"}}), std::chrono::seconds(5));
        if (a.ok() && (*a)[1].value && (*a)[1].value->get<uint32_t>() == 4242u) ++ok;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 20);
}

TEST(DbusPrivateReader, APeerThatNeverAnswersEndsTheReadAtItsTimeoutAsDeadlineExceeded) {
  FakeSystemdPeer peer;
  peer.mode = FakeSystemdPeer::Mode::kSilent;  // a frozen systemd: connected, never answering
  DbusPrivateReader reader(peer.address(), {.pause_after_timeout = std::chrono::milliseconds(300)});
  const auto t0 = std::chrono::steady_clock::now();
  auto answers = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::milliseconds(200));
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_FALSE(answers.ok());
  EXPECT_EQ(answers.status().code(), absl::StatusCode::kDeadlineExceeded) << answers.status();
  EXPECT_GE(took, std::chrono::milliseconds(190));
  EXPECT_LT(took, std::chrono::seconds(2)) << "the read's own timeout, not sd-bus's 25 s";
  // The silent connection was dropped with the read, and for pause_after_timeout reads go to
  // the bus; then a new connection is made and answered.
  peer.mode = FakeSystemdPeer::Mode::kAnswer;
  auto paused = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  EXPECT_EQ(paused.status().code(), absl::StatusCode::kUnavailable) << paused.status();
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  auto again = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(peer.accepted(), 2);
}

TEST(DbusPrivateReader, APeerThatHangsUpBeforeAnsweringIsUnavailableAtOnceAndAskedAgainOnlyAfterAPause) {
  FakeSystemdPeer peer;
  peer.mode = FakeSystemdPeer::Mode::kHangUp;  // systemd refusing us (or re-executing) right after connect
  DbusPrivateReader reader(peer.address(), {.pause_after_refusal = std::chrono::milliseconds(300)});
  const auto t0 = std::chrono::steady_clock::now();
  auto broken = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2)) << "a hang-up is not waited out";
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable) << broken.status();
  peer.mode = FakeSystemdPeer::Mode::kAnswer;
  auto paused = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  EXPECT_EQ(paused.status().code(), absl::StatusCode::kUnavailable) << "knocked again at once";
  EXPECT_EQ(peer.accepted(), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  auto again = reader.Read(Gets({{kUnitIface, "ActiveState"}}), std::chrono::seconds(5));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].value->get<std::string>(), "active");
  EXPECT_EQ(peer.accepted(), 2);
  EXPECT_EQ(reader.reads(), 1u);
}

}  // namespace
}  // namespace failover::agent
