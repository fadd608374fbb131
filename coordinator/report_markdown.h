// The report as Markdown, ready to paste into Confluence or Notion: headings and tables for the
// summary, plan, initial state, operations, health, final state and recovery metrics. Pure.
#pragma once

#include <string>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// Uses report.metrics when set, else computes it. Secrets are redacted.
std::string RenderMarkdown(const v1::Report& report);

}  // namespace failover::coordinator
