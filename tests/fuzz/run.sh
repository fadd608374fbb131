#!/usr/bin/env bash
# Runs every fuzz target for a bounded time (ASan + UBSan), first on the committed regression
# inputs, then from the seed corpus. Prints, per target, how many inputs ran with no crash.
#   tests/fuzz/run.sh BUILD_DIR SECONDS_PER_TARGET
set -euo pipefail
build=$1; seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
declare -A corpus=([fuzz_unit_name]=unit_name [fuzz_config]=config [fuzz_agent_config]=agent_config [fuzz_requests]=execute_request)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in fuzz_unit_name fuzz_config fuzz_agent_config fuzz_requests; do
  bin=$build/bin/$t
  work=$build/fuzz-corpus/$t
  mkdir -p "$work"
  cp -n "$here/corpus/${corpus[$t]}"/* "$work/" 2>/dev/null || true
  if [ -d "$here/regressions/$t" ] && ls "$here/regressions/$t"/* >/dev/null 2>&1; then
    "$bin" "$here/regressions/$t"/* > "$build/$t.regressions.log" 2>&1 || { echo "$t: a regression input crashes again"; status=1; }
  fi
  if "$bin" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/$t-" "$work" > "$build/$t.log" 2>&1; then
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$build/$t.log" | grep -oE '[0-9]+$' || echo '?')
    echo "$t: $runs inputs in ${seconds} s, no crash"
  else
    echo "$t: CRASH — see $build/$t.log and $build/$t-* (add the input to tests/fuzz/regressions/$t/)"
    tail -30 "$build/$t.log"
    status=1
  fi
done
exit $status
