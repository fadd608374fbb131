#!/usr/bin/env bash
# make demo: brings up hosts api, cerebro and panel (real systemd as PID 1, the SLS stand-in
# services, an agent each, mTLS), starts the coordinator, runs an executed failover in the
# seed's order with live progress, prints the report, and tears everything down, also on failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
tb=$repo/tests/testbed
state=$repo/build/demo
bin=$repo/build/bin
coord_pid=

cleanup() {
  local rc=$?
  if [ -n "$coord_pid" ] && kill -0 "$coord_pid" 2>/dev/null; then
    kill "$coord_pid"; wait "$coord_pid" 2>/dev/null || true
  fi
  echo "== tearing the test bed down"
  bash "$tb/testbed.sh" down "$state" || rc=1
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== bringing up test hosts api, cerebro, panel"
bash "$tb/testbed.sh" down "$state" >/dev/null 2>&1 || true
rm -rf "$state"
bash "$tb/sls-payload.sh" "$state"
bash "$tb/testbed.sh" up "$state" api:11 cerebro:12 panel:13
bash "$tb/wait-agents.sh" "$state" api:11 cerebro:12 panel:13

echo "== starting failover-coordinator"
export PANEL_TOKEN; PANEL_TOKEN=$(cat "$state/secrets/panel_token")
export API_BASE=http://10.77.0.11:8080
sock=$state/coordinator.sock
"$bin/failover-coordinator" --listen "unix:$sock" --config "$state/sls.yaml" --state-dir "$state/coordinator" \
  --reports-dir "$repo/tmp_logs" 2> "$state/coordinator.log" &
coord_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
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
