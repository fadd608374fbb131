// Fuzzes the unit-name rules and the allowlist with arbitrary bytes.
#include <cstdint>
#include <string>

#include "failover/unit_name.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(reinterpret_cast<const char*>(data), size);
  (void)failover::ValidateUnitName(s);
  static const auto list = *failover::UnitAllowlist::Create({"sls-*.service", "sls-monitor.timer", "a[bc]?.mount"});
  absl::Status st = list.Check(s);
  // Anything allowed must be a valid unit name.
  if (st.ok() && !failover::ValidateUnitName(s).ok()) __builtin_trap();
  (void)failover::UnitAllowlist::Create({s});
  return 0;
}
