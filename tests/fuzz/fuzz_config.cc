// Fuzzes the coordinator config parser and the planner on whatever it accepts.
#include <cstdint>
#include <string>

#include "coordinator/config.h"
#include "coordinator/planner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  auto config = failover::coordinator::ParseConfig(yaml, "fuzz.yaml", {{"PANEL_TOKEN", "tok-fuzz-1234"}});
  if (!config.ok()) return 0;
  for (const char* mode : {"rolling", "stop-all"}) {
    auto o = failover::coordinator::ResolveOptions(*config, {}, mode, "", 2, false);
    if (o.ok()) (void)failover::coordinator::BuildPlan(*config, *o);
  }
  return 0;
}
