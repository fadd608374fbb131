// What a run tells the configured webhooks (pure, over Notifier): a notice before it acts
// (executed runs; with the receivers' lead time when scheduled), one at its end, and one more on
// failure. Dry runs change nothing and notify no one.
#pragma once

#include <string>

#include "coordinator/config.h"
#include "coordinator/notifier.h"
#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// The longest lead time among receivers of start notices (0 when none or not scheduled).
uint32_t StartLeadTimeMs(const Config& config, bool scheduled);
// Posts the start notice to every receiver that wants it. `note`: "starts in 600 s (scheduled)".
void AnnounceStart(Notifier* notifier, const Config& config, const std::string& run_id,
                   const std::string& services, const std::string& note);
// Posts the end notice and, when the run did not succeed, the failure notice.
void AnnounceEnd(Notifier* notifier, const Config& config, const v1::Report& report);

}  // namespace failover::coordinator
