#include "coordinator/config_holder.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace failover::coordinator {

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read the config (", std::strerror(errno), "); pass an existing file to --config"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseConfigWithProcessEnv(ss.str(), path);
}

absl::StatusOr<std::unique_ptr<ConfigHolder>> ConfigHolder::Load(const std::string& path) {
  auto config = LoadConfigFile(path);
  if (!config.ok()) return config.status();
  return std::make_unique<ConfigHolder>(std::move(*config), path);
}

ConfigHolder::ConfigHolder(Config config, std::string path)
    : path_(std::move(path)), config_(std::make_shared<const Config>(std::move(config))) {}

std::shared_ptr<const Config> ConfigHolder::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

absl::Status ConfigHolder::Reload() {
  if (path_.empty()) return absl::FailedPreconditionError("the config was not read from a file; nothing to reload");
  auto config = LoadConfigFile(path_);
  if (!config.ok()) return config.status();
  std::lock_guard<std::mutex> lock(mu_);
  config_ = std::make_shared<const Config>(std::move(*config));
  return absl::OkStatus();
}

}  // namespace failover::coordinator
