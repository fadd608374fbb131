#include "failover/secret_ref.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace failover {
namespace {

absl::Status Err(const ValueRef& ref, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(ref.where, ": ", what));
}

}  // namespace

absl::StatusOr<std::string> ResolveValueRef(const ValueRef& ref, const std::map<std::string, std::string>& env) {
  switch (ref.kind) {
    case ValueRef::Kind::kLiteral:
      return ref.text;
    case ValueRef::Kind::kEnv: {
      auto it = env.find(ref.text);
      if (it != env.end() && !it->second.empty()) return it->second;
      if (ref.fallback) return *ref.fallback;
      return Err(ref, "environment variable " + ref.text + " is not set");
    }
    case ValueRef::Kind::kFile: {
      std::ifstream in(ref.text);
      if (!in) return Err(ref, "cannot read " + ref.text);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string v(absl::StripAsciiWhitespace(ss.str()));
      if (v.empty()) return Err(ref, ref.text + " is empty");
      return v;
    }
  }
  return Err(ref, "needs env or file");
}

std::map<std::string, std::string> ProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace failover
