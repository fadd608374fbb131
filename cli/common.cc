#include "cli/common.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "coordinator/config.h"
#include "coordinator/wire_enums.h"
#include "failover/config_text.h"
#include "google/protobuf/util/json_util.h"

namespace failover::cli {

void AddRunFlags(CLI::App* cmd, RunFlags* f, bool with_execute) {
  cmd->add_option("-c,--config", f->config_path, "failover config (YAML); default: the coordinator's own");
  cmd->add_option("--services", f->services, "service order, comma separated (e.g. sls-bot,sls-cerebro,sls-api,sls-panel)");
  cmd->add_option("--mode", f->mode, "rolling (default) or stop-all");
  cmd->add_option("--failure-policy", f->failure_policy, "abort (default), continue or restore");
  cmd->add_option("--max-parallel", f->max_parallel, "hosts acted on at once per service (a service's min_healthy budget narrows it: serialised, "
                  "never refused)");
  if (with_execute) {
    cmd->add_flag("--execute", f->execute, "act for real (default: dry run, nothing changes)");
    cmd->add_flag("--restart", f->restart,
                  "the seed's flag: stop then start each service in the defined order, which is what every run "
                  "does (implied by --execute); alone it stays a dry run that shows those steps");
    cmd->add_flag_function(
        "--require-healthy,!--no-require-healthy",
        [f](int64_t n) { f->require_healthy = n > 0; },
        "refuse to --execute while a pre-flight gate fails (default: the config's defaults.require_healthy)");
    cmd->add_flag("--force", f->force,
                  "start anyway although pre-flight gates fail (--require-healthy) or outside the maintenance windows "
                  "(recorded in the report and the coordinator's log)");
    cmd->add_flag("--scheduled", f->scheduled, "a scheduled run (timer, CI): webhooks get their lead-time notice first");
  }
  cmd->add_option("--api-base", f->api_base,
                  "this run's API_BASE for the global health check (e.g. https://api.staging.example.com); the "
                  "coordinator accepts it only under its health_check.allowed_api_bases. Token: $PANEL_TOKEN or "
                  "--token-file");
  cmd->add_option("--token-file", f->token_file, "file holding the token for --api-base (default: $PANEL_TOKEN)");
  cmd->add_option("-o,--output", f->output, "format on stdout: text (default) or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--json", f->json, "same as -o json");
  if (with_execute)
    cmd->add_flag("--plain", f->plain,
                  "one line per event even on a terminal (default there: one row per host and unit, updated in place)");
}

namespace {

// --api-base and its token: from --token-file, else $PANEL_TOKEN (never from the command line,
// where ps would show it). A token goes only with the caller's own --api-base.
bool AddCallerApiBase(const RunFlags& f, v1::RunRequest* req) {
  if (f.api_base.empty()) {
    if (f.token_file.empty()) return true;
    std::cerr << "failoverctl: --token-file needs --api-base: the token goes only to your own API base\n";
    return false;
  }
  req->set_api_base(f.api_base);
  std::string token;
  if (!f.token_file.empty()) {
    std::ifstream in(f.token_file);
    if (!in) {
      std::cerr << "failoverctl: cannot read --token-file " << f.token_file << "\n";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    token = std::string(absl::StripAsciiWhitespace(ss.str()));
  } else if (const char* env = std::getenv("PANEL_TOKEN")) {
    token = std::string(absl::StripAsciiWhitespace(env));
  }
  req->set_api_token(token);
  return true;
}

}  // namespace

bool BuildRunRequest(const RunFlags& f, v1::RunRequest* req) {
  if (!f.config_path.empty()) {
    std::ifstream in(f.config_path);
    if (!in) {
      std::cerr << "failoverctl: cannot read config " << f.config_path << "\n";
      return false;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    // Size bound and UTF-8 here, not at the transport: gRPC would refuse either without saying why.
    if (absl::Status s = CheckConfigText(ss.str(), f.config_path); !s.ok()) {
      std::cerr << "failoverctl: " << s.message() << "\n";
      return false;
    }
    req->set_config_yaml(ss.str());
    req->set_config_path(f.config_path);
  }
  if (!f.services.empty()) {
    for (absl::string_view s : absl::StrSplit(f.services, ',')) {
      s = absl::StripAsciiWhitespace(s);
      if (s.empty()) {
        std::cerr << "failoverctl: --services has an empty entry: \"" << f.services << "\"\n";
        return false;
      }
      req->add_services(std::string(s));
    }
  }
  // The words go as typed (the coordinator names a wrong one); known words also as enums.
  req->set_mode(f.mode);
  req->set_failure_policy(f.failure_policy);
  if (auto m = coordinator::ParseMode(f.mode); m.ok()) req->set_mode_kind(coordinator::ToWire(*m));
  if (auto p = coordinator::ParseFailurePolicy(f.failure_policy); p.ok())
    req->set_failure_policy_kind(coordinator::ToWire(*p));
  req->set_max_parallel(f.max_parallel);
  req->set_execute(f.execute);
  if (f.require_healthy) req->set_require_healthy(*f.require_healthy);
  req->set_force(f.force);
  req->set_scheduled(f.scheduled);
  return AddCallerApiBase(f, req);
}

namespace {

// Over TCP: our certificate is usable, and one TLS handshake with the coordinator succeeds
// within the connect timeout. Prints what is wrong otherwise.
bool CheckTlsPath(const GlobalOptions& g, std::chrono::milliseconds timeout) {
  if (absl::Status s = CheckOwnCertificate(g.tls); !s.ok()) {
    std::cerr << "failoverctl: cannot reach the coordinator at " << g.coordinator
              << " with this certificate: " << s.message() << "\n";
    return false;
  }
  if (absl::Status s = ProbeTlsHandshake(g.coordinator, g.tls, g.tls_server_name, timeout); !s.ok()) {
    std::cerr << "failoverctl: cannot reach the coordinator at " << g.coordinator << ": " << s.message() << "\n";
    return false;
  }
  return true;
}

// Over a unix socket: something accepts connections on it. gRPC would learn the same only after
// starting its runtime (~2.5 ms of failoverctl's start); an answer it cannot judge at once (a full
// backlog: EAGAIN) is left to gRPC. Returns "" or why not.
std::string UnixSocketRefusal(const std::string& target) {
  std::string path = target.substr(std::strlen("unix:"));
  if (path.rfind("///", 0) == 0) path = path.substr(2);  // unix:///run/x.sock
  sockaddr_un addr{};
  // Forms gRPC reads its own way (an authority, %-escapes), or too long: gRPC tries and says.
  if (path.empty() || path.rfind("//", 0) == 0 || path.find('%') != std::string::npos ||
      path.size() >= sizeof(addr.sun_path))
    return "";
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  const int rc = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int err = errno;
  close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS) return "";
  return absl::StrCat("connect to ", path, ": ", std::strerror(err));
}

}  // namespace

std::unique_ptr<v1::Coordinator::Stub> Connect(const GlobalOptions& g, int* exit_code) {
  *exit_code = kExitUsage;
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(g.connect_timeout_s * 1000));
  if (g.connect_timeout_s <= 0) {
    std::cerr << "failoverctl: --connect-timeout must be > 0 seconds\n";
    return nullptr;
  }
  if (g.coordinator.rfind("unix:", 0) == 0) {
    if (std::string why = UnixSocketRefusal(g.coordinator); !why.empty()) {
      std::cerr << "failoverctl: cannot reach the coordinator at " << g.coordinator << ": " << why
                << " (is failover-coordinator running? see --coordinator)\n";
      *exit_code = kExitFailed;
      return nullptr;
    }
  } else {
    auto c = MakeChannelCredentials(g.tls);
    if (!c.ok()) {
      std::cerr << "failoverctl: " << c.status().message()
                << " (a TCP coordinator needs --tls-ca, --tls-cert, --tls-key)\n";
      return nullptr;
    }
    if (!CheckTlsPath(g, timeout)) return nullptr;
    creds = *c;
  }
  return v1::Coordinator::NewStub(
      grpc::CreateCustomChannel(g.coordinator, creds, DefaultChannelArguments(g.tls_server_name, timeout)));
}

int ReportRpcError(const std::string& what, const grpc::Status& s, const GlobalOptions& g) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "failoverctl: " << what << ": cannot reach the coordinator at " << g.coordinator << ": "
              << s.error_message() << " (is failover-coordinator running? see --coordinator)\n";
    return kExitFailed;
  }
  std::cerr << "failoverctl: " << what << ": " << s.error_message() << "\n";
  return s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitFailed;
}

void PrintJson(const google::protobuf::Message& msg) {
  std::string json;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(msg, &json, o);
  std::cout << json;
}

LiveStyle LiveStyleFor(const RunFlags& f) {
  return ChooseLiveStyle(f.Json(), f.plain, isatty(STDOUT_FILENO) && isatty(STDERR_FILENO), std::getenv("TERM"));
}

LivePrinter::LivePrinter(LiveStyle style, bool color) : view_(style, color), style_(style) {
  if (style == LiveStyle::kTty) ticker_ = std::thread([this] { Tick(); });
}

LivePrinter::~LivePrinter() { Finish(); }

void LivePrinter::Finish() {
  stop_ = true;
  if (ticker_.joinable()) ticker_.join();
}

int64_t LivePrinter::NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - origin_).count();
}

void LivePrinter::OnEvent(const v1::RunEvent& e) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_) {
    origin_ = std::chrono::steady_clock::now() - std::chrono::microseconds(e.elapsed_us());
    started_ = true;
  }
  const int64_t now = std::max(NowUs(), e.elapsed_us());
  std::ostream& out = style_ == LiveStyle::kJson ? std::cout : std::cerr;
  out << view_.OnEvent(e, now) << std::flush;
}

void LivePrinter::Tick() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    std::lock_guard<std::mutex> lock(mu_);
    if (started_) std::cerr << view_.Tick(NowUs()) << std::flush;
  }
}

std::string Ms(int64_t us) { return absl::StrFormat("%.1f ms", us / 1000.0); }

}  // namespace failover::cli
