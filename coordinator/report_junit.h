// The report as JUnit XML for CI: one testsuite per run; one testcase per step, per probe result
// (step gates and the final health check) and one for the run's outcome, so that a failed run
// always fails the suite. Pure.
#pragma once

#include <string>

#include "failover/v1/report.pb.h"

namespace failover::coordinator {

std::string RenderJunit(const v1::Report& report);
// Text safe inside an XML element or attribute: & < > " ' escaped, characters XML 1.0 forbids
// (control characters but tab, newline, carriage return) replaced by U+FFFD.
std::string XmlEscape(const std::string& text);

}  // namespace failover::coordinator
