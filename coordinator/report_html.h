// The report as one self-contained HTML file: inline CSS, inline SVG, no external asset and no
// script. The tables of the Markdown report plus a timeline per host/unit (stopping, down,
// starting, healthy bars) drawn as SVG. Pure.
#pragma once

#include <string>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

// Uses report.metrics when set, else computes it. Secrets are redacted; "://" in any text is
// written as "&#58;//" so that the file holds no URL a browser or a checker could follow.
std::string RenderHtml(const v1::Report& report);

}  // namespace failover::coordinator
