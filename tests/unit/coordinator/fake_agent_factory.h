// FakeAgents behind the coordinator's AgentClientFactory: one per host of the SLS test config,
// each over its own FakeSystemd with the host's units running.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "coordinator/agent_client_factory.h"
#include "coordinator/fake_agent.h"

namespace failover::coordinator::testing {

// Forwards to a FakeAgent the test keeps (the service owns and drops its clients per request).
class AgentRef : public AgentClient {
 public:
  explicit AgentRef(AgentClient* agent) : agent_(agent) {}
  absl::StatusOr<v1::GetStateResponse> GetState(const v1::GetStateRequest& req) override { return agent_->GetState(req); }
  absl::Status Execute(const v1::ExecuteRequest& req, const std::function<void(const v1::AgentEvent&)>& on_event,
                       std::chrono::milliseconds deadline) override {
    return agent_->Execute(req, on_event, deadline);
  }
  absl::StatusOr<v1::ProbeResponse> Probe(const v1::ProbeRequest& req, std::chrono::milliseconds d) override {
    return agent_->Probe(req, d);
  }
  absl::StatusOr<v1::RenewLeaseResponse> RenewLease(const v1::RenewLeaseRequest& req) override {
    return agent_->RenewLease(req);
  }

 private:
  AgentClient* agent_;
};

class FakeAgentFactory : public AgentClientFactory {
 public:
  explicit FakeAgentFactory(const Config& config) {
    for (const auto& h : config.hosts) {
      agents_[h.name] = std::make_unique<failover::testing::FakeAgent>(h.name, &order_, &order_mu_);
      for (const auto& u : h.units) agents_[h.name]->systemd().AddUnit(u);
    }
  }
  absl::StatusOr<std::unique_ptr<AgentClient>> Create(const Config&, const HostConfig& host) override {
    auto it = agents_.find(host.name);
    if (it == agents_.end()) return absl::InvalidArgumentError("no fake agent for host " + host.name);
    ++created_;
    return std::unique_ptr<AgentClient>(std::make_unique<AgentRef>(it->second.get()));
  }
  failover::testing::FakeAgent& agent(const std::string& host) { return *agents_.at(host); }
  std::map<std::string, AgentClient*> clients() {
    std::map<std::string, AgentClient*> out;
    for (auto& [h, a] : agents_) out[h] = a.get();
    return out;
  }
  std::vector<std::string> order() {
    std::lock_guard<std::mutex> lock(order_mu_);
    return order_;
  }
  int created() const { return created_; }

 private:
  std::vector<std::string> order_;
  std::mutex order_mu_;
  std::map<std::string, std::unique_ptr<failover::testing::FakeAgent>> agents_;
  std::atomic<int> created_{0};
};

}  // namespace failover::coordinator::testing
