// The live view of a streaming run: pure. It takes RunEvents and a clock value (microseconds since
// the run began, the clock the events' elapsed_us use) and returns the text to write; it never
// writes, reads a clock or talks to the coordinator, so `run` and any other streaming subcommand
// (inject, chaos...) share it and its tests need no terminal.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "failover/v1/coordinator.pb.h"

namespace failover::cli {

// How the live output looks: rows updated in place (a terminal), one line per event (a pipe, a
// log, --plain), or one JSON object per line (-o json, for scripts).
enum class LiveStyle { kTty, kPlain, kJson };

// kJson for -o json; kTty only when the output is a terminal whose TERM is set and not "dumb" and
// --plain was not given; kPlain otherwise.
LiveStyle ChooseLiveStyle(bool json, bool plain, bool output_is_tty, const char* term);

class LiveView {
 public:
  // `color`: ANSI colours on marks (plain and tty styles only).
  explicit LiveView(LiveStyle style, bool color = false) : style_(style), color_(color) {}

  // The text to write for one event: a line (plain), a JSON line (json), or the cursor moves and
  // rows that redraw the frame in place (tty).
  std::string OnEvent(const v1::RunEvent& e, int64_t now_us);
  // The clock alone moved: a redraw with the elapsed times ticked (tty), "" otherwise.
  std::string Tick(int64_t now_us);
  // The frame's text without cursor moves, for tests and a last look.
  std::string Frame(int64_t now_us) const;

 private:
  struct Row {
    std::string host, unit, state, gate, step;
    int64_t since_us = 0;  // when `state` began (run clock)
    bool done = false;     // the state is final for now: its elapsed stops ticking
    int64_t done_us = 0;
  };
  Row* FindOrAddRow(const std::string& host, const std::string& unit);
  // Applies a unit event to its row; false when the event belongs to no row.
  bool Apply(const v1::RunEvent& e);
  bool ApplyGate(const v1::RunEvent& e);
  std::string Line(const v1::RunEvent& e) const;
  std::string Redraw(const std::vector<std::string>& above, int64_t now_us);

  LiveStyle style_;
  bool color_;
  std::vector<Row> rows_;
  std::string run_id_;
  int printed_lines_ = 0;  // lines of the frame on screen (tty)
};

}  // namespace failover::cli
