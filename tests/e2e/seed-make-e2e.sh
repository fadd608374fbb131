#!/usr/bin/env bash
# ctest (label e2e): the seed's command lines through make, against the test bed the fixture
# brought up. A coordinator of our own runs on a private socket (as the demo starts one) and is
# stopped, by its PID, on exit.
# Usage: seed-make-e2e.sh CASE STATE_DIR BUILD_DIR
set -uo pipefail
case=$1 state=$2 build=$3
repo=$(cd "$(dirname "$0")/../.." && pwd)
bin=$build/bin
dir=$state/seed-make-$case
rm -rf "$dir" && mkdir -p "$dir"
sock=$dir/coordinator.sock
token=$(cat "$state/secrets/panel_token")
coord_pid=
cleanup() { [ -n "$coord_pid" ] && kill "$coord_pid" 2>/dev/null && wait "$coord_pid" 2>/dev/null; true; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

start_coordinator() {
  PANEL_TOKEN=$token API_BASE=http://10.77.0.11:8080 "$bin/failover-coordinator" --listen "unix:$sock" \
    --config "$state/sls.yaml" --state-dir "$dir/state" --reports-dir "$dir/reports" 2> "$dir/coordinator.log" &
  coord_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && return 0; sleep 0.05; done
  fail "coordinator did not start: $(cat "$dir/coordinator.log")"
}
# make as the operator types it (plus where the coordinator and the build are); stdout/stderr kept.
mk() { make --no-print-directory -C "$repo" "$@" BUILD="$build" > "$dir/out" 2> "$dir/err"; echo $? > "$dir/rc"; }
pid() { bash "$repo/tests/testbed/testbed.sh" exec "$state" "$1" systemctl show -p MainPID --value "$2"; }

case $case in
  DryRunPrintsTheStepsAndWritesTheReport)
    start_coordinator
    mk failover-sim API_BASE=http://10.77.0.11:8080 PANEL_TOKEN="$token" COORDINATOR="unix:$sock"
    [ "$(cat "$dir/rc")" = 0 ] || fail "exit $(cat "$dir/rc"): $(cat "$dir/err")"
    grep -q "restart-sls-bot" "$dir/err" || fail "no steps printed: $(cat "$dir/err")"
    report=$(sed -n 's/^report:  //p' "$dir/out" | head -1)
    [ -n "$report" ] && [ -s "$report" ] || fail "no report path printed or file missing: $(cat "$dir/out")"
    grep -q "dry run" "$report" || fail "the report is not a dry run's: $report"
    grep -q "$token" "$dir/out" "$dir/err" "$report" "$dir/coordinator.log" && fail "the token leaked"
    echo "ok: dry run, report $report" ;;
  ExecuteRestartsEveryServiceIncludingThePanel)
    start_coordinator
    before_panel=$(pid panel sls-panel.service) before_api=$(pid api sls-api.service)
    mk failover-sim EXECUTE=1 SERVICES=sls-bot,sls-cerebro,sls-api,sls-panel API_BASE=http://10.77.0.11:8080 \
      PANEL_TOKEN="$token" COORDINATOR="unix:$sock"
    [ "$(cat "$dir/rc")" = 0 ] || fail "exit $(cat "$dir/rc"): $(tail -20 "$dir/err")"
    [ "$(pid panel sls-panel.service)" != "$before_panel" ] || fail "sls-panel was not restarted"
    [ "$(pid api sls-api.service)" != "$before_api" ] || fail "sls-api on api was not restarted"
    grep -q "^outcome: SUCCEEDED" "$dir/out" || fail "$(cat "$dir/out")"
    echo "ok: executed, sls-panel $before_panel -> $(pid panel sls-panel.service)" ;;
  HealthChecksThePanelTheApiAndEveryGate)
    start_coordinator
    mk health API_BASE=http://10.77.0.11:8080 PANEL_TOKEN="$token" COORDINATOR="unix:$sock"
    [ "$(cat "$dir/rc")" = 0 ] || fail "exit $(cat "$dir/rc"): $(cat "$dir/out" "$dir/err")"
    for probe in panel-health api-health bot-health cerebro-health monitor-guard health_check; do
      grep -q " $probe " "$dir/out" || fail "$probe missing: $(cat "$dir/out")"
    done
    grep -q "10.77.0.11:8080/health" "$dir/out" || fail "the caller's API_BASE was not used: $(cat "$dir/out")"
    echo "ok: health" ;;
  NoCoordinatorSaysHowToStartOneAndFails)
    mk failover-sim API_BASE=http://10.77.0.11:8080 PANEL_TOKEN="$token" COORDINATOR="unix:$dir/nobody.sock"
    rc=$(cat "$dir/rc")
    [ "$rc" != 0 ] || fail "exit 0 without a coordinator"
    grep -q "no coordinator answers at unix:$dir/nobody.sock" "$dir/err" || fail "no clear message: $(cat "$dir/err")"
    grep -q "systemctl start failover-coordinator" "$dir/err" || fail "does not say how to start one"
    echo "ok: exit $rc with: $(head -1 "$dir/err")" ;;
  *) fail "unknown case $case" ;;
esac
