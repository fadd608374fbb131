// Fuzzes the agent's host config parser.
#include <cstdint>
#include <string>

#include "agent/agent_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto c = failover::agent::ParseAgentConfig(yaml, "agent.yaml");
  if (c.ok()) (void)failover::agent::CheckAgentConfig(*c, "agent.yaml");
  return 0;
}
