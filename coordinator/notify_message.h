// The body of a run notification (pure): Slack-compatible ({"text": ...}) or a generic JSON
// object with the run's facts. Never carries secrets: only the report's own fields, which the
// coordinator already redacts.
#pragma once

#include <string>

#include "coordinator/notify_config.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

struct RunNotice {
  NotifyEvent event = NotifyEvent::kStart;
  std::string run_id;
  const v1::Report* report = nullptr;  // kEnd / kFailure: the final report
  std::string note;                    // kStart: "starts in 10 min", "starts now"; window info
  std::string services;                // comma separated
  bool execute = true;
};

std::string RenderNotice(NotifyFormat format, const RunNotice& n);

}  // namespace failover::coordinator
