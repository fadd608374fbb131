// The agent's restic probe source: runs `restic snapshots --json --latest 1` on a repository of
// the agent's own config (restic_repositories), without a shell, killed at the probe's timeout.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/agent_config.h"
#include "failover/probe_sources.h"

namespace failover::agent {

// Largest restic stdout kept, and stderr quoted in an error.
inline constexpr size_t kMaxResticStdout = 1 << 20;
inline constexpr size_t kMaxResticStderr = 512;

// argv of the restic call (no shell): snapshots --json --latest 1 --no-lock --no-cache [--host=H] [--tag=T].
std::vector<std::string> ResticSnapshotsArgv(const std::string& restic, const v1::ResticProbe& probe);

class ResticSnapshots : public ResticSource {
 public:
  explicit ResticSnapshots(std::map<std::string, ResticRepository> repositories,
                           std::string restic_binary = "/usr/bin/restic")
      : repositories_(std::move(repositories)), restic_(std::move(restic_binary)) {}
  absl::StatusOr<std::string> LatestSnapshotsJson(const v1::ResticProbe& probe, uint32_t timeout_ms) override;

 private:
  std::map<std::string, ResticRepository> repositories_;
  std::string restic_;
};

}  // namespace failover::agent
