// Parsing of the coordinator-only scheduling sections: maintenance `windows` (+ `on_window_end`)
// and webhook `notifications`. Called by config_parse.cc; a config sent with a request may hold
// neither (it is refused there, before these run).
#pragma once

#include <map>
#include <string>

#include "coordinator/config.h"
#include "failover/yaml_config.h"

namespace failover::coordinator {

absl::Status ParseWindows(const YamlFields& f, const YAML::Node& root, Config* cfg);
absl::Status ParseNotifications(const YamlFields& f, const YAML::Node& n, Config* cfg);
// Reads each notification's URL reference, checks it is http(s) and registers it for redaction.
absl::Status ResolveNotificationUrls(const std::map<std::string, std::string>& env, Config* cfg);

}  // namespace failover::coordinator
