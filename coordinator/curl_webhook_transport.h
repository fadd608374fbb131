// The real WebhookTransport: one HTTP(S) POST with libcurl, no redirects, no ambient proxy, the
// answer's body discarded (at most 64 KiB read). Errors name the notification's host only.
#pragma once

#include "coordinator/notifier.h"

namespace failover::coordinator {

class CurlWebhookTransport : public WebhookTransport {
 public:
  absl::Status Post(const std::string& url, const std::string& body, uint32_t timeout_ms) override;
};

}  // namespace failover::coordinator
