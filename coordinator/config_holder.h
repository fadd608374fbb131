// The coordinator's own config: parsed once at start, kept, and replaced on reload (SIGHUP) only
// when the new text parses; a bad reload keeps the old config.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "coordinator/config.h"

namespace failover::coordinator {

class ConfigHolder {
 public:
  // Reads and parses `path` (process environment for {env:}); errors name file:line and field.
  static absl::StatusOr<std::unique_ptr<ConfigHolder>> Load(const std::string& path);
  // Holds an already parsed config (tests, or a coordinator wired in-process).
  explicit ConfigHolder(Config config, std::string path = "");

  // The current config; callers keep the pointer for the whole request.
  std::shared_ptr<const Config> Get() const;
  // Parses the file again. On error the current config stays and the error (file:line) is returned.
  absl::Status Reload();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Config> config_;
};

// Reads and parses a coordinator config file.
absl::StatusOr<Config> LoadConfigFile(const std::string& path);

}  // namespace failover::coordinator
