#!/usr/bin/env bash
# make demo: brings up hosts api, cerebro and panel (real systemd as PID 1, the SLS stand-in
# services, an agent each, mTLS), starts the coordinator, runs an executed failover in the
# seed's order with live progress, prints the report, and tears everything down, also on failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tb=$repo/tests/testbed
state=$repo/build/demo
bin=$repo/build/bin
source "$tb/sls-lib.sh"

echo "== bringing up test hosts api, cerebro, panel"
sls_up "$state"

echo "== starting failover-coordinator"
sock=$state/coordinator.sock
start_coordinator "$state" "$sock" "$repo/tmp_logs" --state-dir "$state/coordinator"
ctl() { "$bin/failoverctl" --coordinator "unix:$sock" "$@"; }

echo "== failoverctl plan"
ctl plan
echo
echo "== failoverctl run --execute   (seed order: sls-bot → sls-cerebro → sls-api, rolling, gated on health)"
set +e
ctl run --execute > "$state/run.out"
rc=$?
set -e
cat "$state/run.out"
log=$(sed -n 's/^report:  //p' "$state/run.out" | head -1)
if [ -n "$log" ]; then
  echo
  echo "== report ($log)"
  cat "$log"
fi
echo
echo "== demo finished: failoverctl exit code $rc"
exit $rc
