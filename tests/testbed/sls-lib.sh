# Shared by demo.sh and bench.sh (sourced): bring the SLS test bed up, start a coordinator, and
# tear both down on exit, also on failure or Ctrl-C.
# Callers set: tb (tests/testbed), bin (build/bin), state (test-bed state dir) before sourcing.

coord_pid=
sls_cleanup() {
  local rc=$?
  if [ -n "$coord_pid" ] && kill -0 "$coord_pid" 2>/dev/null; then
    kill "$coord_pid"; wait "$coord_pid" 2>/dev/null || true
  fi
  bash "$tb/testbed.sh" down "$state" >&2 || rc=1
  exit $rc
}
trap sls_cleanup EXIT
trap 'exit 130' INT TERM

# sls_bot_hosts N: the host specs of sls-payload.sh's SLS_BOT_HOSTS=N extra hosts (bot1:21 ...).
sls_bot_hosts() {
  local i
  for i in $(seq "${1:-0}"); do printf 'bot%s:%s ' "$i" $((20 + i)); done
}

# sls_up STATE [BOT_HOSTS]: fresh payload, hosts api/cerebro/panel (and BOT_HOSTS more hosts
# running sls-bot) up, every agent and unit ready.
sls_up() {
  local state=$1 bots=${2:-0}
  bash "$tb/testbed.sh" down "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
  SLS_BOT_HOSTS=$bots bash "$tb/sls-payload.sh" "$state" >/dev/null
  # shellcheck disable=SC2046 # one word per host spec
  bash "$tb/testbed.sh" up "$state" api:11 cerebro:12 panel:13 $(sls_bot_hosts "$bots")
  # shellcheck disable=SC2046
  bash "$tb/wait-agents.sh" "$state" api:11 cerebro:12 panel:13 $(sls_bot_hosts "$bots")
}

# start_coordinator STATE SOCKET REPORTS_DIR [extra flags...]: in the background, with the
# test bed's PANEL_TOKEN and API_BASE; waits for its socket.
start_coordinator() {
  local state=$1 sock=$2 reports=$3
  shift 3
  export PANEL_TOKEN; PANEL_TOKEN=$(cat "$state/secrets/panel_token")
  export API_BASE=http://10.77.0.11:8080
  "$bin/failover-coordinator" --listen "unix:$sock" --config "$state/sls.yaml" --reports-dir "$reports" "$@" \
    2> "$state/coordinator.log" &
  coord_pid=$!
  for _ in $(seq 100); do [ -S "$sock" ] && return 0; sleep 0.05; done
  echo "coordinator did not start; see $state/coordinator.log" >&2
  return 1
}
