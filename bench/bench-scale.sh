#!/usr/bin/env bash
# make bench-scale: one real coordinator (the failover-coordinator binary) against N real agent
# gRPC servers with mTLS on loopback (failover-bench-agents: AgentService + StepRunner over a
# simulated systemd whose stop and start each take JOB_MS), one executed rolling failover of a
# service that runs on all N hosts. Prints per size: wall time of the run (report start to end),
# overhead = wall - waves x (stop + start + settle window), the coordinator's peak RSS and CPU
# seconds; then one JSON line per size. Two runs per coordinator: the first (cold) connects to the
# N agents (TCP + TLS handshake each: OpenSSL 3 makes each new client TLS context cost ms of CPU),
# the second (warm) runs over the channels the coordinator kept: that is the figure a coordinator
# that runs failovers regularly sees; both are printed.
#   SIZES="100:100 1000:1000 10000:1000 1000:50"  hosts:max_parallel (config allows max_parallel <= 1000)
#   JOB_MS=50 SETTLE_MS=1 (defaults.healthy_for_ms of the bench config: 1 ms, the least the config takes)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
bin=${BIN_DIR:-$build/bin}
sizes=${SIZES:-"100:100 1000:1000 10000:1000 1000:50"}
job_ms=${JOB_MS:-50}
settle_ms=${SETTLE_MS:-1}
first_port=${FIRST_PORT:-21000}
work=$build/bench-scale
rm -rf "$work"; mkdir -p "$work"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

agents_pid=; coord_pid=
cleanup() {
  for p in $coord_pid $agents_pid; do
    if kill -0 "$p" 2>/dev/null; then kill "$p"; wait "$p" 2>/dev/null || true; fi
  done
  coord_pid=; agents_pid=
}
trap cleanup EXIT
trap 'cleanup; exit 143' INT TERM  # e.g. `timeout`: no agents' process outlives the bench

certs=$work/certs
mkdir -p "$certs"
(
  cd "$certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj "/CN=bench-ca" \
    -keyout ca.key -out ca.pem 2>/dev/null
  mk() {  # name san usage
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$1" -keyout "$1.key" -out "$1.csr" 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$2" "$3" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  }
  mk coordinator DNS:coordinator serverAuth,clientAuth
  mk agent 'DNS:*.bench.test' serverAuth   # one certificate for every simulated host name
)

proc_cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
procs_cpu_s() { local p t=0; for p in "$@"; do t=$(awk -v t="$t" '{printf "%.2f", t + ($14 + $15) / 100}' "/proc/$p/stat"); done; echo "$t"; }

# Why this machine cannot run `hosts` agents, or nothing. Each agents' process (AGENTS_PER_PROCESS
# agents) holds a listening socket and an accepted connection per agent; the coordinator a
# connection per host; a one-wave step needs a handler and a worker thread per host, and each
# agents' process ~35 MiB plus the coordinator ~0.3 MiB per host.
cannot_run() {
  local hosts=$1 per=${AGENTS_PER_PROCESS:-100} fds threads mem_kib need_kib
  fds=$(ulimit -Hn); threads=$(cat /proc/sys/kernel/threads-max)
  mem_kib=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
  need_kib=$(( (hosts + per - 1) / per * 35 * 1024 + hosts * 300 ))
  if [ "$fds" != unlimited ] && [ $((2 * (hosts < per ? hosts : per) + 256)) -gt "$fds" ]; then
    echo "needs ~$((2 * per + 256)) file descriptors per agents' process; this machine allows $fds (ulimit -Hn)"
  elif [ "$fds" != unlimited ] && [ $((hosts + 256)) -gt "$fds" ]; then
    echo "the coordinator needs ~$((hosts + 256)) file descriptors; this machine allows $fds (ulimit -Hn)"
  elif [ $((3 * hosts + 512)) -gt "$threads" ]; then
    echo "needs ~$((3 * hosts + 512)) threads at once; kernel.threads-max is $threads"
  elif [ "$need_kib" -gt "$mem_kib" ]; then
    echo "needs ~$((need_kib / 1024)) MiB; MemAvailable is $((mem_kib / 1024)) MiB"
  fi
}

run_size() {
  local hosts=$1 par=$2 dir=$work/$1-$2
  local why; why=$(cannot_run "$hosts")
  if [ -n "$why" ]; then echo "bench-scale: $hosts hosts not run: $why" >&2; return 2; fi
  mkdir -p "$dir/reports" "$dir/state"
  python3 - "$dir/config.yaml" "$hosts" "$par" "$first_port" "$settle_ms" "$certs" "$dir/reports" <<'PY'
import sys
path, n, par, port, settle, certs, reports = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
with open(path, "w") as f:
    f.write(f"defaults:\n  mode: rolling\n  failure_policy: abort\n  max_parallel: {par}\n  job_timeout_ms: 20000\n"
            f"  lease_ms: 120000\n  call_timeout_ms: 20000\n  healthy_for_ms: {settle}\nhosts:\n")
    for i in range(n):
        f.write(f"  h{i:05d}.bench.test: {{agent: \"127.0.0.1:{port + i}\", units: [bench.service]}}\n")
    f.write("services:\n  - name: bench\n    probes:\n"
            "      - {name: bench-up, unit: {unit: bench.service}, timeout_ms: 1000, deadline_ms: 5000}\n"
            f"order: [bench]\ntls:\n  ca: {certs}/ca.pem\n  cert: {certs}/coordinator.pem\n  key: {certs}/coordinator.key\n"
            f"reports_dir: {reports}\n")
PY
  # Agents in processes of at most AGENTS_PER_PROCESS (a real agent is one process per host; one
  # process for 1,000 servers made their pollers contend for one epoll set and miss keepalives).
  local per=${AGENTS_PER_PROCESS:-100} start=0 n pids=""
  while [ $start -lt "$hosts" ]; do
    n=$(( hosts - start < per ? hosts - start : per ))
    "$bin/failover-bench-agents" --count "$n" --first-index "$start" --first-port "$((first_port + start))" \
      --stop-ms "$job_ms" --start-ms "$job_ms" --tls-dir "$certs" --ready-file "$dir/agents-$start.ready" \
      2> "$dir/agents-$start.log" &
    pids="$pids $!"
    start=$((start + n))
  done
  agents_pid=$pids
  local ready=0
  for _ in $(seq 1200); do
    ready=$(find "$dir" -maxdepth 1 -name 'agents-*.ready' | wc -l)
    [ "$ready" -eq "$(echo $pids | wc -w)" ] && break
    for p in $pids; do kill -0 "$p" 2>/dev/null || break 2; done
    sleep 0.1
  done
  [ "$ready" -eq "$(echo $pids | wc -w)" ] || { echo "bench-scale: $hosts agents did not start (see $dir/agents-*.log)" >&2; cat "$dir"/agents-*.log >&2; return 1; }
  local sock=$dir/coordinator.sock
  "$bin/failover-coordinator" --listen "unix:$sock" --config "$dir/config.yaml" --reports-dir "$dir/reports" \
    --state-dir "$dir/state" 2> "$dir/coordinator.log" &
  coord_pid=$!
  for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
  local cpu0; cpu0=$(proc_cpu_s $coord_pid)
  local rc=0
  "$bin/failoverctl" --coordinator "unix:$sock" --timeout 600 run --execute > "$dir/run-cold.txt" 2>&1 || rc=$?
  local cpu1; cpu1=$(proc_cpu_s $coord_pid)
  local agents_cpu1; agents_cpu1=$(procs_cpu_s $agents_pid)
  # PERF=1: `perf record -g` of the coordinator and of the first agents' process during the warm run
  # (perf-coordinator.data, perf-agents.data in the size's directory).
  local perf_pids=""
  if [ "${PERF:-0}" = 1 ] && [ $rc -eq 0 ]; then
    perf record ${PERF_CALL_GRAPH:+--call-graph $PERF_CALL_GRAPH} -g -o "$dir/perf-coordinator.data" -p "$coord_pid" 2> "$dir/perf-coordinator.log" & perf_pids="$!"
    local first_agents; first_agents=$(echo $agents_pid | cut -d' ' -f1)
    perf record ${PERF_CALL_GRAPH:+--call-graph $PERF_CALL_GRAPH} -g -o "$dir/perf-agents.data" -p "$first_agents" 2> "$dir/perf-agents.log" & perf_pids="$perf_pids $!"
    sleep 1
  fi
  [ $rc -eq 0 ] && { "$bin/failoverctl" --coordinator "unix:$sock" --timeout 600 run --execute > "$dir/run.txt" 2>&1 || rc=$?; }
  for p in $perf_pids; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  local cpu2; cpu2=$(proc_cpu_s $coord_pid)
  local agents_cpu2; agents_cpu2=$(procs_cpu_s $agents_pid)
  local hwm; hwm=$(awk '/VmHWM/ {print $2}' /proc/$coord_pid/status)
  local threads; threads=$(awk '/Threads/ {print $2}' /proc/$coord_pid/status)
  cleanup
  if [ $rc -ne 0 ]; then
    # Where it stopped: failoverctl's last words, the coordinator's last log line (the run's phase) and the load.
    echo "bench-scale: a run with $hosts hosts failed (rc $rc): $(tail -3 "$dir"/run*.txt)" >&2
    echo "bench-scale: the coordinator's last log line: $(tail -1 "$dir/coordinator.log" | cut -c1-400)" >&2
    echo "bench-scale: load: $(uptime)" >&2
    return 1
  fi
  python3 - "$dir/reports" "$hosts" "$par" "$job_ms" "$settle_ms" "$hwm" "$cpu0" "$cpu1" "$cpu2" "$threads" \
    "$agents_cpu1" "$agents_cpu2" <<'PY'
import glob, json, math, sys
reports, n, par, job, settle, hwm, cpu0, cpu1, cpu2, threads, agents_cpu1, agents_cpu2 = sys.argv[1:]
n, par, job, settle = int(n), int(par), int(job), int(settle)
waves = math.ceil(n / par)
floor_ms = waves * (2 * job + settle)
def figures(r):
    assert r["outcome"] == "RUN_SUCCEEDED", r["summary"]
    wall_ms = (int(r["finished_at_unix_us"]) - int(r["started_at_unix_us"])) / 1000
    first = min(int(s["started_at_unix_us"]) for s in r["steps"])
    pre_ms = (first - int(r["started_at_unix_us"])) / 1000
    post_ms = (int(r["finished_at_unix_us"]) - max(int(s["finished_at_unix_us"]) for s in r["steps"])) / 1000
    return wall_ms, wall_ms - floor_ms, pre_ms, post_ms
runs = sorted((json.load(open(p)) for p in glob.glob(reports + "/*.json")), key=lambda r: int(r["started_at_unix_us"]))
cold, warm = figures(runs[0]), figures(runs[-1])
cpu_cold, cpu_warm = float(cpu1) - float(cpu0), float(cpu2) - float(cpu1)
for name, (wall, over, pre, post), cpu in (("cold", cold, cpu_cold), ("warm", warm, cpu_warm)):
    print(f"  {n:>6} hosts, max_parallel {par:>5} ({waves:>3} wave(s)), {name}: wall {wall:9.1f} ms, simulated jobs "
          f"{floor_ms:5.0f} ms, overhead {over:8.1f} ms ({over / waves:7.1f} ms/wave; before the first step {pre:.1f}, "
          f"after the last {post:.1f}), coordinator CPU {cpu:6.2f} s", flush=True)
print(f"  {n:>6} hosts: coordinator peak RSS {int(hwm) / 1024:6.1f} MiB, threads at end {threads}; the agents' "
      f"processes' CPU in the warm run {float(agents_cpu2) - float(agents_cpu1):.2f} s", flush=True)
with open(reports + "/../result.json", "w") as f:
    json.dump({"hosts": n, "waves": waves, "overhead_ms": round(warm[1], 1), "rss_mb": round(int(hwm) / 1024, 1),
               "cpu_s": round(cpu_warm, 2), "cold_overhead_ms": round(cold[1], 1), "cold_cpu_s": round(cpu_cold, 2)}, f)
PY
}

echo "bench-scale: load before: $(uptime)"
echo "bench-scale: simulated stop/start ${job_ms} ms each, settle window ${settle_ms} ms, sizes (hosts:max_parallel) $sizes"
for s in $sizes; do
  IFS=: read -r n p <<< "$s"
  rc=0; run_size "$n" "$p" || rc=$?
  if [ $rc -eq 2 ]; then continue; fi  # this machine's limits (printed): the next size may still run
  if [ $rc -ne 0 ]; then echo "  $n hosts: stopped here (see above)"; break; fi
done
for s in $sizes; do
  IFS=: read -r n p <<< "$s"
  [ -f "$work/$n-$p/result.json" ] && cat "$work/$n-$p/result.json" && echo
done
