// Parsing of the coordinator-only `publish:` list (report destinations). Called by
// config_parse.cc; a config sent with a request may not hold it.
#pragma once

#include <map>
#include <string>

#include "coordinator/config.h"
#include "failover/yaml_config.h"

namespace failover::coordinator {

absl::Status ParsePublish(const YamlFields& f, const YAML::Node& n, Config* cfg);
// Reads each destination's token reference and registers the token for redaction.
absl::Status ResolvePublishTokens(const std::map<std::string, std::string>& env, Config* cfg);

}  // namespace failover::coordinator
