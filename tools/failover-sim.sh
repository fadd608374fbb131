#!/usr/bin/env bash
# The seed's entry points (failover-plan-sls-bot-2v.md), driven through failoverctl:
#   make failover-sim API_BASE=… PANEL_TOKEN=…            dry run: the steps, the report and its path
#   make failover-sim EXECUTE=1 SERVICES=sls-bot,sls-cerebro,sls-api,sls-panel MODE=rolling …   acts
#   make health API_BASE=… PANEL_TOKEN=…                  panel, API, every gate and guard
# Usage: tools/failover-sim.sh sim|health
# Environment (make passes its command-line variables through the environment):
#   API_BASE      this run's API base (the coordinator accepts it under health_check.allowed_api_bases)
#   PANEL_TOKEN   its token; handed to failoverctl through the environment, never on a command line
#   EXECUTE=1     act (default: dry run)          SERVICES, MODE, MAX_PARALLEL, FAILURE_POLICY, CONFIG
#   COORDINATOR   unix:PATH or host:port (default unix:/run/failover/coordinator.sock); TLS_CA/TLS_CERT/TLS_KEY
#   TESTBED=1     no coordinator? bring up the local test bed (root), its agents and a coordinator, run, tear down
#   FAILOVERCTL   the binary (default build/bin/failoverctl; built when missing)
# Exit code: failoverctl's (0 ok, 1 failed/refused/unreachable, 2 usage, 3 report not written).
set -uo pipefail
what=${1:-}
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
case $build in /*) ;; *) build=$repo/$build ;; esac
ctl=${FAILOVERCTL:-$build/bin/failoverctl}
coordinator=${COORDINATOR:-unix:/run/failover/coordinator.sock}

die() { echo "failover-sim: $*" >&2; exit 2; }
[ "$what" = sim ] || [ "$what" = health ] || die "usage: $0 sim|health"

if [ ! -x "$ctl" ]; then
  echo "failover-sim: $ctl is missing; building failoverctl" >&2
  cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && \
    cmake --build "$build" --target failoverctl -j"$(nproc)" >&2 || die "could not build failoverctl"
fi

# A unix socket nobody listens on, or no file at all: say how to get a coordinator.
coordinator_missing() {
  case $coordinator in
    unix:*) local sock=${coordinator#unix:}; [ -S "$sock" ] || return 0
            python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$sock" 2>/dev/null && return 1
            return 0 ;;
    *) return 1 ;;  # TCP: failoverctl names an unreachable coordinator itself
  esac
}

how_to_start() {
  cat >&2 <<MSG
failover-sim: no coordinator answers at $coordinator. Start one, then run this again:
  systemctl start failover-coordinator            # deploy/failover-coordinator.service, config /etc/failover/sls.yaml
  $build/bin/failover-coordinator --config /etc/failover/sls.yaml --listen $coordinator
or point COORDINATOR=unix:PATH|host:port at a running one, or add TESTBED=1 (as root) to bring up the
local test bed (hosts api, cerebro, panel with their agents) and a coordinator for this run only.
MSG
}

if coordinator_missing; then
  if [ "${TESTBED:-}" != 1 ]; then how_to_start; exit 1; fi
  # The demo's way: fresh test bed, a coordinator on its own socket, torn down on exit (sls-lib.sh).
  tb=$repo/tests/testbed
  bin=$build/bin
  state=$build/failover-sim-testbed
  # shellcheck source=../tests/testbed/sls-lib.sh
  source "$tb/sls-lib.sh"
  sls_up "$state" >&2
  sim_token=${PANEL_TOKEN:-}
  SIM_API_BASE=${API_BASE:-}
  start_coordinator "$state" "$state/coordinator.sock" "$state/reports" --state-dir "$state/coordinator" || exit 1
  # start_coordinator exported the test bed's API_BASE and token for the coordinator's own use;
  # the caller's (possibly none) are what failoverctl sends.
  # On the local test bed the caller is the bed's operator: its token, unless one was given.
  PANEL_TOKEN=${sim_token:-$(cat "$state/secrets/panel_token")}
  API_BASE=${SIM_API_BASE:-}
  [ -n "$API_BASE" ] || PANEL_TOKEN=
  coordinator=unix:$state/coordinator.sock
fi

args=(--coordinator "$coordinator")
[ -n "${TLS_CA:-}" ] && args+=(--tls-ca "$TLS_CA" --tls-cert "${TLS_CERT:-}" --tls-key "${TLS_KEY:-}")
if [ "$what" = sim ]; then args+=(run --restart); else args+=(health); fi
[ -n "${CONFIG:-}" ] && args+=(-c "$CONFIG")
[ -n "${SERVICES:-}" ] && args+=(--services "$SERVICES")
[ -n "${MODE:-}" ] && args+=(--mode "$MODE")
if [ "$what" = sim ]; then
  [ -n "${MAX_PARALLEL:-}" ] && args+=(--max-parallel "$MAX_PARALLEL")
  [ -n "${FAILURE_POLICY:-}" ] && args+=(--failure-policy "$FAILURE_POLICY")
  case ${EXECUTE:-} in 1|yes|true) args+=(--execute) ;; ""|0|no|false) ;; *) die "EXECUTE must be 1 or empty, got \"$EXECUTE\"" ;; esac
fi
if [ -n "${API_BASE:-}" ]; then
  args+=(--api-base "$API_BASE")
  export PANEL_TOKEN=${PANEL_TOKEN:-}
elif [ -n "${PANEL_TOKEN:-}" ]; then
  echo "failover-sim: PANEL_TOKEN without API_BASE is not sent: a caller's token goes only to the caller's API_BASE" \
       "(the coordinator uses its own API_BASE and token)" >&2
  unset PANEL_TOKEN
fi

echo "failover-sim: failoverctl ${args[*]}" >&2
"$ctl" "${args[@]}"
rc=$?
# make turns any failing recipe into its own exit 2; this line keeps failoverctl's code visible.
[ "$rc" = 0 ] || echo "failover-sim: failoverctl exited $rc" >&2
exit $rc
