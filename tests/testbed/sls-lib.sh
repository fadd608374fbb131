# Shared by demo.sh and bench.sh (sourced): bring the SLS test bed up, start a coordinator.
# Callers set: repo, tb (tests/testbed), bin (build/bin); coord_pid is set for their cleanup.

# sls_up STATE: fresh payload, hosts api/cerebro/panel up, every agent and unit ready.
sls_up() {
  local state=$1
  bash "$tb/testbed.sh" down "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
  bash "$tb/sls-payload.sh" "$state" >/dev/null
  bash "$tb/testbed.sh" up "$state" api:11 cerebro:12 panel:13
  bash "$tb/wait-agents.sh" "$state" api:11 cerebro:12 panel:13
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
