#include "coordinator/run_notices.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "coordinator/notify_message.h"

namespace failover::coordinator {
namespace {

void PostTo(Notifier* notifier, const Config& config, NotifyEvent event, const RunNotice& notice) {
  for (const NotificationConfig& to : config.notifications) {
    if (to.events.count(event) == 0) continue;
    notifier->Post(to, event, RenderNotice(to.format, notice));
  }
}

}  // namespace

uint32_t StartLeadTimeMs(const Config& config, bool scheduled) {
  if (!scheduled) return 0;
  uint32_t lead = 0;
  for (const NotificationConfig& to : config.notifications)
    if (to.events.count(NotifyEvent::kStart) > 0) lead = std::max(lead, to.lead_time_ms);
  return lead;
}

void AnnounceStart(Notifier* notifier, const Config& config, const std::string& run_id,
                   const std::string& services, const std::string& note) {
  if (notifier == nullptr) return;
  RunNotice n;
  n.event = NotifyEvent::kStart;
  n.run_id = run_id;
  n.services = services;
  n.note = note;
  PostTo(notifier, config, NotifyEvent::kStart, n);
}

void AnnounceEnd(Notifier* notifier, const Config& config, const v1::Report& report) {
  if (notifier == nullptr || report.dry_run()) return;
  RunNotice n;
  n.run_id = report.run_id();
  n.report = &report;
  n.services = absl::StrJoin(report.services(), ",");
  n.event = NotifyEvent::kEnd;
  PostTo(notifier, config, NotifyEvent::kEnd, n);
  if (report.outcome() == v1::RUN_SUCCEEDED) return;
  n.event = NotifyEvent::kFailure;
  PostTo(notifier, config, NotifyEvent::kFailure, n);
}

}  // namespace failover::coordinator
