// The SLS layout the coordinator unit tests share: api (sls-api, sls-bot), cerebro (sls-cerebro,
// sls-bot), panel (sls-panel, sls-api); four services, each gated by "<name>-health"; the seed's
// default order sls-bot → sls-cerebro → sls-api.
#pragma once

#include "coordinator/config.h"

namespace failover::coordinator::testing {

inline Config SlsTestConfig() {
  Config c;
  c.path = "test.yaml";
  c.hosts = {{"api", "10.0.0.1:7700", {"sls-api.service", "sls-bot.service"}},
             {"cerebro", "10.0.0.2:7700", {"sls-cerebro.service", "sls-bot.service"}},
             {"panel", "10.0.0.3:7700", {"sls-panel.service", "sls-api.service"}}};
  for (const char* s : {"sls-bot", "sls-cerebro", "sls-api", "sls-panel"}) {
    ServiceConfig svc;
    svc.name = s;
    svc.unit = std::string(s) + ".service";
    v1::ProbeSpec p;
    p.set_name(std::string(s) + "-health");
    svc.probes.push_back(p);
    c.services.push_back(svc);
  }
  c.default_order = {"sls-bot", "sls-cerebro", "sls-api"};
  return c;
}

}  // namespace failover::coordinator::testing
