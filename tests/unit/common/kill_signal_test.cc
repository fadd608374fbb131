#include "failover/kill_signal.h"

#include <csignal>

#include "gtest/gtest.h"

namespace failover {
namespace {

TEST(KillSignal, EveryWireValueMapsToItsSignalAndBack) {
  for (auto [wire, number] : {std::pair{v1::CHAOS_SIGNAL_KILL, SIGKILL}, std::pair{v1::CHAOS_SIGNAL_TERM, SIGTERM},
                              std::pair{v1::CHAOS_SIGNAL_ABRT, SIGABRT}}) {
    auto s = KillSignalFromWire(wire, "signal");
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(KillSignalNumber(*s), number);
    EXPECT_EQ(KillSignalToWire(*s), wire);
  }
}

TEST(KillSignal, TheWireNumbersAreFixed) {
  EXPECT_EQ(static_cast<int>(v1::CHAOS_SIGNAL_KILL), 1);
  EXPECT_EQ(static_cast<int>(v1::CHAOS_SIGNAL_TERM), 2);
  EXPECT_EQ(static_cast<int>(v1::CHAOS_SIGNAL_ABRT), 3);
}

TEST(KillSignal, AnUnsetOrUnknownWireValueIsRefusedNamingTheField) {
  auto unset = KillSignalFromWire(v1::CHAOS_SIGNAL_UNSPECIFIED, "signal");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("signal"), std::string::npos);
  EXPECT_FALSE(KillSignalFromWire(static_cast<v1::ChaosSignal>(9), "signal").ok());
}

TEST(KillSignal, WordsAreParsedWithOrWithoutSigAndInAnyCase) {
  EXPECT_EQ(*ParseKillSignal("kill"), KillSignal::kKill);
  EXPECT_EQ(*ParseKillSignal("SIGTERM"), KillSignal::kTerm);
  EXPECT_EQ(*ParseKillSignal("Abrt"), KillSignal::kAbrt);
  auto bad = ParseKillSignal("HUP");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("KILL, TERM or ABRT"), std::string::npos);
}

}  // namespace
}  // namespace failover
