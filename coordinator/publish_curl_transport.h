// The real PublishTransport: one HTTP(S) request with libcurl (the webhook sender's settings: no
// redirects, no ambient proxy), any method, the request's headers, the answer's status and body
// (at most 1 MiB). Errors name the destination's host only, never a header (the token).
#pragma once

#include "coordinator/publish_worker.h"

namespace failover::coordinator {

class CurlPublishTransport : public PublishTransport {
 public:
  absl::StatusOr<HttpAnswer> Send(const HttpRequest& request, uint32_t timeout_ms) override;
};

}  // namespace failover::coordinator
