// The agent's own host config (YAML): who it is, where it listens, what it may touch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "failover/secret_ref.h"
#include "failover/tls_files.h"
#include "failover/unit_name.h"
#include "failover/v1/agent.pb.h"

namespace failover::agent {

// A restic repository the agent may read for restic probes (probes name it; never a path on the wire).
struct ResticRepository {
  std::string repository;     // path or restic URL (RESTIC_REPOSITORY)
  std::string password_file;  // RESTIC_PASSWORD_FILE (read by restic, never by the agent)
};

struct AgentConfig {
  std::string host;                 // host name used in reports
  std::string listen;               // e.g. "10.77.0.11:7700"
  UnitAllowlist allowlist;          // default deny
  std::map<std::string, ValueRef> secret_refs;  // name -> {env: VAR} or {file: PATH}, as written
  std::map<std::string, std::string> secrets;   // name -> value (ResolveAgentSecrets reads them)
  // name -> URL prefixes the secret may be sent to (default: this host's loopback only).
  std::map<std::string, std::vector<std::string>> secret_urls;
  TlsFiles tls;                     // mTLS; required unless insecure_plaintext
  std::vector<std::string> allowed_clients;    // certificate identities allowed (empty = any from the CA)
  bool insecure_plaintext = false;  // only with a loopback listen address
  std::string audit_log;            // append-only JSON lines ("" = journal only)
  std::string state_dir;            // lease table lives here ("" = no persistence)
  std::map<std::string, ResticRepository> restic_repositories;  // name -> repository
};

// Parses the YAML text without reading files or the environment (secret_refs only); errors are
// "path:line: field: what (fix)".
absl::StatusOr<AgentConfig> ParseAgentConfigText(const std::string& yaml, const std::string& path);
// Reads every secret reference (env from `env`, files from disk) into secrets and registers the
// values for redaction.
absl::Status ResolveAgentSecrets(const std::map<std::string, std::string>& env, AgentConfig* config);
// ParseAgentConfigText, then ResolveAgentSecrets with the process environment.
absl::StatusOr<AgentConfig> ParseAgentConfig(const std::string& yaml, const std::string& path);
absl::StatusOr<AgentConfig> LoadAgentConfig(const std::string& path);
// Cross-field rules: TLS set unless insecure_plaintext; plaintext only on loopback; at least one
// allowed client identity.
absl::Status CheckAgentConfig(const AgentConfig& config, const std::string& path);

// Where a secret may go when no `urls` are configured: services on this host only.
std::vector<std::string> DefaultSecretUrls();
// PERMISSION_DENIED unless an HTTP probe's bearer secret is defined and allowed for its URL, so
// a request cannot make the agent send its secrets elsewhere; NOT_FOUND for a restic probe whose
// repository name this agent's config does not define.
absl::Status CheckSecretUse(const AgentConfig& config, const v1::ProbeSpec& probe);

}  // namespace failover::agent
