#include "cli/live_view.h"

#include <string>

#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace failover::cli {
namespace {

constexpr int64_t kS = 1'000'000;

v1::RunEvent Unit(int64_t at_us, const std::string& host, const std::string& unit, const std::string& step,
                  v1::UnitEventKind kind, v1::Operation op, const std::string& message) {
  v1::RunEvent e;
  e.set_run_id("20261129T101500Z-ab12");
  e.set_elapsed_us(at_us);
  e.set_host(host);
  e.set_unit(unit);
  e.set_step_id(step);
  e.set_unit_event(kind);
  e.set_operation(op);
  e.set_message(message);
  e.set_level(kind == v1::UNIT_EVENT_JOB_FAILED ? v1::SEVERITY_ERROR : v1::SEVERITY_INFO);
  return e;
}

v1::RunEvent Gate(int64_t at_us, const std::string& host, const std::string& step, const std::string& probe,
                  bool passed) {
  v1::RunEvent e = Unit(at_us, host, "http://10.77.0.11:8000/health", step,
                        passed ? v1::UNIT_EVENT_GATE_PASSED : v1::UNIT_EVENT_GATE_FAILED, v1::OPERATION_UNSPECIFIED,
                        "probe " + probe + (passed ? " healthy" : " UNHEALTHY: HTTP 503"));
  e.set_probe(probe);
  return e;
}

// The frame's row of `host` `unit`, "" when there is none.
std::string RowOf(const std::string& frame, const std::string& host, const std::string& unit) {
  for (absl::string_view line : absl::StrSplit(frame, '\n'))
    if (line.rfind(host + " ", 0) == 0 && line.find(unit) != absl::string_view::npos) return std::string(line);
  return "";
}

TEST(ChooseLiveStyle, RowsInPlaceOnlyOnATerminalThatIsNotDumbAndWithoutPlain) {
  EXPECT_EQ(ChooseLiveStyle(false, false, true, "xterm-256color"), LiveStyle::kTty);
  EXPECT_EQ(ChooseLiveStyle(false, false, true, "dumb"), LiveStyle::kPlain);
  EXPECT_EQ(ChooseLiveStyle(false, false, true, nullptr), LiveStyle::kPlain);
  EXPECT_EQ(ChooseLiveStyle(false, false, false, "xterm"), LiveStyle::kPlain);
  EXPECT_EQ(ChooseLiveStyle(false, true, true, "xterm"), LiveStyle::kPlain);
  EXPECT_EQ(ChooseLiveStyle(true, false, true, "xterm"), LiveStyle::kJson);
}

TEST(LiveView, KeepsOneRowPerHostAndUnitThroughAStopAndAStartAndShowsThePassedGate) {
  LiveView v(LiveStyle::kTty);
  v.OnEvent(Unit(1 * kS, "api", "sls-api.service", "03-restart-sls-api", v1::UNIT_EVENT_JOB_ISSUED,
                 v1::OPERATION_STOP, "stop sls-api.service issued"), 1 * kS);
  v.OnEvent(Unit(1 * kS, "panel", "sls-api.service", "03-restart-sls-api", v1::UNIT_EVENT_JOB_ISSUED,
                 v1::OPERATION_STOP, "stop sls-api.service issued"), 1 * kS);
  EXPECT_NE(RowOf(v.Frame(1 * kS), "api", "sls-api.service").find("stopping"), std::string::npos) << v.Frame(1 * kS);
  v.OnEvent(Unit(2 * kS, "api", "sls-api.service", "03-restart-sls-api", v1::UNIT_EVENT_JOB_DONE, v1::OPERATION_STOP,
                 "stop done"), 2 * kS);
  v.OnEvent(Unit(2 * kS, "api", "sls-api.service", "03-restart-sls-api", v1::UNIT_EVENT_JOB_ISSUED,
                 v1::OPERATION_START, "start issued"), 2 * kS);
  v.OnEvent(Unit(3 * kS, "api", "sls-api.service", "03-restart-sls-api", v1::UNIT_EVENT_JOB_DONE, v1::OPERATION_START,
                 "start done"), 3 * kS);
  v.OnEvent(Gate(3'500'000, "api", "03-restart-sls-api", "api-health", true), 3'500'000);
  const std::string frame = v.Frame(4 * kS);
  EXPECT_EQ(frame, "run 20261129T101500Z-ab12  4.0s\n"
                   "HOST       UNIT                       STATE                               ELAPSED  GATE\n"
                   "api        sls-api.service            active                                 2.0s  ✓ api-health\n"
                   "panel      sls-api.service            stopping                               3.0s  -\n");
}

TEST(LiveView, ElapsedTicksWithTheClockWhileAUnitIsDownAndStopsWhenItIsActive) {
  LiveView v(LiveStyle::kTty);
  v.OnEvent(Unit(0, "cerebro", "sls-cerebro.service", "02-restart", v1::UNIT_EVENT_JOB_ISSUED, v1::OPERATION_STOP,
                 "stop issued"), 0);
  EXPECT_NE(RowOf(v.Frame(1'200'000), "cerebro", "sls-cerebro").find(" 1.2s"), std::string::npos);
  const std::string tick = v.Tick(2'500'000);
  EXPECT_NE(tick.find(" 2.5s"), std::string::npos) << tick;
  v.OnEvent(Unit(3 * kS, "cerebro", "sls-cerebro.service", "02-restart", v1::UNIT_EVENT_JOB_DONE, v1::OPERATION_STOP,
                 "stop done"), 3 * kS);
  EXPECT_NE(RowOf(v.Frame(5 * kS), "cerebro", "sls-cerebro").find(" 5.0s"), std::string::npos)
      << "stopped: the downtime ticks on";
  v.OnEvent(Unit(6 * kS, "cerebro", "sls-cerebro.service", "02-restart", v1::UNIT_EVENT_JOB_DONE,
                 v1::OPERATION_START, "start done"), 6 * kS);
  EXPECT_NE(RowOf(v.Frame(60 * kS), "cerebro", "sls-cerebro").find(" 6.0s"), std::string::npos) << v.Frame(60 * kS);
}

TEST(LiveView, AFailedGateMarksItsRowAndAFailedStartSaysSo) {
  LiveView v(LiveStyle::kTty);
  v.OnEvent(Unit(0, "api", "sls-bot.service", "01-restart-sls-bot", v1::UNIT_EVENT_JOB_FAILED, v1::OPERATION_START,
                 "start failed"), 0);
  v.OnEvent(Gate(kS, "api", "01-restart-sls-bot", "bot-health", false), kS);
  const std::string row = RowOf(v.Frame(kS), "api", "sls-bot.service");
  EXPECT_NE(row.find("start failed"), std::string::npos) << row;
  EXPECT_NE(row.find("✗ bot-health"), std::string::npos) << row;
}

TEST(LiveView, ADryRunRowSaysWhatIsSkippedAndWhyAndWhatWouldRun) {
  LiveView v(LiveStyle::kTty);
  v1::RunEvent skip = Unit(0, "api", "sls-bot.service", "01-restart-sls-bot", v1::UNIT_EVENT_SKIPPED,
                           v1::OPERATION_STOP, "stop skipped: already inactive");
  skip.set_skip_reason("already inactive");
  v.OnEvent(skip, 0);
  v.OnEvent(Unit(0, "api", "sls-bot.service", "01-restart-sls-bot", v1::UNIT_EVENT_WOULD_RUN, v1::OPERATION_START,
                 "would start"), 0);
  EXPECT_NE(RowOf(v.Frame(0), "api", "sls-bot.service").find("stop skipped: already inactive, would start"),
            std::string::npos)
      << v.Frame(0);
}

TEST(LiveView, RedrawsInPlaceWithCursorUpAndClearLineAndKeepsRunLevelLinesAbove) {
  LiveView v(LiveStyle::kTty);
  const std::string first = v.OnEvent(Unit(0, "api", "sls-api.service", "s", v1::UNIT_EVENT_JOB_ISSUED,
                                           v1::OPERATION_STOP, "stop issued"), 0);
  EXPECT_EQ(first.find("\033["), first.find("\033[2K")) << "no cursor-up before the first frame";
  v1::RunEvent note;
  note.set_elapsed_us(kS);
  note.set_message("pre-flight gate api-ok: passing");
  const std::string second = v.OnEvent(note, kS);
  EXPECT_EQ(second.rfind("\033[3A", 0), 0u) << "cursor up over the 3 lines of the frame";
  EXPECT_NE(second.find("\r\033[2K[   1.000s] · -          -                        pre-flight gate api-ok: passing\n"),
            std::string::npos)
      << second;
  EXPECT_EQ(v.Tick(2 * kS).rfind("\033[3A", 0), 0u);
}

TEST(LiveView, PlainIsOneLinePerEventWithoutEscapes) {
  LiveView v(LiveStyle::kPlain);
  const std::string line = v.OnEvent(Unit(1'500'000, "api", "sls-api.service", "s", v1::UNIT_EVENT_JOB_ISSUED,
                                          v1::OPERATION_STOP, "stop sls-api.service issued"), 2 * kS);
  EXPECT_EQ(line, "[   1.500s] · api        sls-api.service          stop sls-api.service issued\n");
  EXPECT_EQ(v.Tick(3 * kS), "");
}

TEST(LiveView, JsonIsOneParsableObjectPerLine) {
  LiveView v(LiveStyle::kJson);
  const std::string line = v.OnEvent(Gate(kS, "api", "s", "api-health", false), kS);
  ASSERT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  v1::RunEvent back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &back).ok()) << line;
  EXPECT_EQ(back.probe(), "api-health");
  EXPECT_EQ(back.unit_event(), v1::UNIT_EVENT_GATE_FAILED);
  EXPECT_EQ(v.Tick(2 * kS), "");
}

}  // namespace
}  // namespace failover::cli
