// windows / on_window_end / notifications in the coordinator's config (schedule_config_parse.cc).
#include "coordinator/schedule_config_parse.h"

#include "coordinator/config.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

const char kBase[] = R"(insecure_plaintext: true
hosts:
  api: {agent: "127.0.0.1:7700", units: [sls-api.service]}
services:
  - name: sls-api
order: [sls-api]
)";

absl::StatusOr<Config> Parse(const std::string& extra, ConfigSource source = ConfigSource::kCoordinator,
                             std::map<std::string, std::string> env = {}) {
  return ParseConfig(std::string(kBase) + extra, "sls.yaml", env, source);
}

TEST(ScheduleConfig, WindowsParseWithDaysTimesAndZone) {
  auto c = Parse("windows: [{days: [Sun, sat], start: \"02:00\", end: \"04:00\", tz: Europe/Madrid}]\n"
                 "on_window_end: finish\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->windows.size(), 1u);
  EXPECT_EQ(c->windows[0].days.size(), 2u);
  EXPECT_EQ(c->windows[0].tz_name, "Europe/Madrid");
  EXPECT_EQ(c->on_window_end, WindowEndPolicy::kFinish);
}

TEST(ScheduleConfig, BadWindowFieldsNameFileLineAndField) {
  struct Case { const char* yaml; const char* want; };
  for (const Case& k : std::vector<Case>{
           {"windows: [{days: [Funday], start: \"02:00\", end: \"04:00\"}]\n", "sls.yaml:7: windows[0].days[0]"},
           {"windows: [{start: \"25:00\", end: \"04:00\"}]\n", "windows[0].start"},
           {"windows: [{start: \"02:00\", end: \"02:00\"}]\n", "windows[0].end"},
           {"windows: [{start: \"02:00\", end: \"04:00\", tz: Nowhere/City}]\n", "windows[0].tz"},
           {"windows: [{start: \"02:00\"}]\n", "needs start and end"},
           {"on_window_end: later\n", "on_window_end"}}) {
    auto c = Parse(k.yaml);
    ASSERT_FALSE(c.ok()) << k.yaml;
    EXPECT_NE(std::string(c.status().message()).find(k.want), std::string::npos) << c.status();
  }
}

TEST(ScheduleConfig, NotificationsResolveTheirUrlAndKeepItSecret) {
  auto c = Parse("notifications:\n  - {name: ops, url: {env: HOOK}, format: slack, events: [failure], "
                 "lead_time_ms: 60000, attempts: 3}\n",
                 ConfigSource::kCoordinator, {{"HOOK", "https://hooks.example.com/T000/B000/secretpart"}});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->notifications.size(), 1u);
  const NotificationConfig& n = c->notifications[0];
  EXPECT_EQ(n.url, "https://hooks.example.com/T000/B000/secretpart");
  EXPECT_EQ(n.format, NotifyFormat::kSlack);
  EXPECT_EQ(n.events, std::set<NotifyEvent>{NotifyEvent::kFailure});
  EXPECT_EQ(n.lead_time_ms, 60000u);
  EXPECT_EQ(n.attempts, 3u);
}

TEST(ScheduleConfig, BadNotificationsAreRefusedNamingTheField) {
  for (const char* yaml : {"notifications: [{name: x, url: \"ftp://example.com\"}]\n",
                           "notifications: [{name: x, url: \"http://a\", format: xml}]\n",
                           "notifications: [{name: x, url: \"http://a\", events: [never]}]\n",
                           "notifications: [{name: x}]\n",
                           "notifications: [{name: x, url: \"http://a\", attempts: 0}]\n"}) {
    EXPECT_FALSE(Parse(yaml).ok()) << yaml;
  }
}

TEST(ScheduleConfig, ARequestConfigMayNotSetWindowsOrNotifications) {
  for (const char* yaml : {"windows: [{start: \"02:00\", end: \"04:00\"}]\n", "on_window_end: finish\n",
                           "notifications: [{name: x, url: \"http://10.0.0.9/steal\"}]\n"}) {
    std::string text = yaml;
    auto c = ParseConfigText(std::string("hosts:\n  api: {agent: \"127.0.0.1:7700\", units: [sls-api.service]}\n"
                                         "services:\n  - name: sls-api\norder: [sls-api]\n") + text,
                             "request.yaml", ConfigSource::kRequest);
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(std::string(c.status().message()).find("request.yaml:6"), std::string::npos) << c.status();
  }
}

TEST(ScheduleConfig, ARequestConfigGetsTheCoordinatorsWindowsAndNotifications) {
  auto own = Parse("windows: [{start: \"02:00\", end: \"04:00\"}]\nnotifications: [{name: n, url: \"http://a\"}]\n");
  ASSERT_TRUE(own.ok()) << own.status();
  Config req;
  OverlayCoordinatorSettings(*own, &req);
  EXPECT_EQ(req.windows.size(), 1u);
  EXPECT_EQ(req.notifications.size(), 1u);
}

}  // namespace
}  // namespace failover::coordinator
