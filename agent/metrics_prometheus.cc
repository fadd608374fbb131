#include "agent/metrics_prometheus.h"


#include "absl/strings/str_cat.h"
#include "failover/tls_files.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "prometheus/text_serializer.h"

namespace failover::agent {

struct PrometheusMetricsSink::Families {
  prometheus::Family<prometheus::Counter>* jobs;
  prometheus::Counter* reconnects;
  prometheus::Family<prometheus::Counter>* reads;
  prometheus::Counter* lease_expiries;
  prometheus::Family<prometheus::Counter>* probes;
};

PrometheusMetricsSink::PrometheusMetricsSink()
    : registry_(std::make_shared<prometheus::Registry>()), f_(new Families) {
  f_->jobs = &prometheus::BuildCounter().Name(kAgentJobsTotal).Help("systemd jobs run by the agent, by op and result")
                  .Register(*registry_);
  f_->reconnects = &prometheus::BuildCounter().Name(kAgentDbusReconnectsTotal)
                        .Help("Reconnections to the system D-Bus after the connection broke")
                        .Register(*registry_).Add({});
  f_->reads = &prometheus::BuildCounter().Name(kAgentStateReadsTotal)
                   .Help("Reads of unit states from systemd, by way: its private socket or the system bus")
                   .Register(*registry_);
  for (const char* via : {"private", "bus"}) f_->reads->Add({{"via", via}});
  f_->lease_expiries = &prometheus::BuildCounter().Name(kAgentLeaseExpiriesTotal)
                            .Help("Host leases that expired without news from the coordinator")
                            .Register(*registry_).Add({});
  f_->probes = &prometheus::BuildCounter().Name(kAgentProbeResultsTotal).Help("Probes run by the agent, by result")
                    .Register(*registry_);
  for (const char* r : {"healthy", "unhealthy"}) f_->probes->Add({{"result", r}});
}

PrometheusMetricsSink::~PrometheusMetricsSink() = default;

void PrometheusMetricsSink::JobDone(const std::string& op, const std::string& result) {
  f_->jobs->Add({{"op", op}, {"result", result}}).Increment();
}
void PrometheusMetricsSink::DbusReconnected() { f_->reconnects->Increment(); }
void PrometheusMetricsSink::StateRead(bool private_socket) {
  f_->reads->Add({{"via", private_socket ? "private" : "bus"}}).Increment();
}
void PrometheusMetricsSink::LeaseExpired() { f_->lease_expiries->Increment(); }
void PrometheusMetricsSink::ProbeDone(const std::string& result) { f_->probes->Add({{"result", result}}).Increment(); }

std::string PrometheusMetricsSink::Text() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

absl::Status CheckMetricsListen(const std::string& addr, bool allow_remote) {
  if (addr.empty() || allow_remote || IsLoopbackOrUnixAddress(addr)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--metrics-listen ", addr, " is not a loopback address: /metrics tells who runs what and when; keep it on "
      "127.0.0.1 or add --metrics-allow-remote to serve it on the network"));
}

}  // namespace failover::agent
