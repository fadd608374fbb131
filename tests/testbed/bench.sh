#!/usr/bin/env bash
# make bench: step timings on the real-systemd test bed.
#  1. N executed rolling failovers (5 restart steps each) through coordinator and agents; per step:
#     step time seen by the coordinator, systemd job time reported by the agent (stop + start,
#     D-Bus call to JobRemoved), gate probe time, and the coordinator's own overhead
#     (step - jobs - probes) and (step - jobs).
#  2. The same restarts as a plain script would do them (nsenter + systemctl stop/start + curl):
#     the baseline the issue compares against.
#  3. Memory: RSS of the coordinator and of each agent after the runs.
set -euo pipefail
runs=${BENCH_RUNS:-10}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tb=$repo/tests/testbed
state=$repo/build/bench
bin=$repo/build/bin
source "$tb/sls-lib.sh"

sls_up "$state" >/dev/null
sock=$state/coordinator.sock
start_coordinator "$state" "$sock" "$state/reports"

echo "bench: $runs executed rolling failovers (5 restart steps each) on 3 test hosts"
for i in $(seq "$runs"); do
  "$bin/failoverctl" --coordinator "unix:$sock" run --execute > /dev/null 2>&1 || { echo "run $i failed" >&2; exit 1; }
done

echo "bench: baseline script (nsenter + systemctl stop + systemctl start + curl /health until 200), same 5 restarts x $runs"
token=$PANEL_TOKEN
baseline=$state/baseline.txt
: > "$baseline"
for i in $(seq "$runs"); do
  for hu in api:sls-bot:8081 cerebro:sls-bot:8081 cerebro:sls-cerebro:8082 api:sls-api:8080 panel:sls-api:8080; do
    IFS=: read -r host unit port <<< "$hu"
    t0=$(date +%s%N)
    bash "$tb/testbed.sh" exec "$state" "$host" sh -c \
      "systemctl stop $unit && systemctl start $unit && until curl -sf -o /dev/null -H 'Authorization: Bearer $token' http://127.0.0.1:$port/health; do sleep 0.02; done"
    echo $(( ($(date +%s%N) - t0) / 1000 )) >> "$baseline"
  done
done

coord_rss=$(awk '/VmRSS/ {print $2}' /proc/$coord_pid/status)
agent_rss=""
for h in api cerebro panel; do
  pid=$(pgrep -f "failover-agent --config $state/hosts/$h/agent.yaml" | head -1)
  agent_rss="$agent_rss $h=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
done

python3 - "$state/reports" "$baseline" "$coord_rss" "$agent_rss" <<'PY'
import json, glob, statistics, sys
reports, baseline, coord_rss, agent_rss = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
step_ms, job_ms, probe_ms, over_ms, over_np_ms = [], [], [], [], []
for path in sorted(glob.glob(reports + "/*.json")):
    r = json.load(open(path))
    if r["dry_run"]:
        continue
    ops = {}
    for op in r["operations"]:
        ops.setdefault(op["step_id"], []).append(int(op["duration_us"]))
    probes = {}
    for p in r["health"]:
        if p.get("step_id"):
            probes.setdefault(p["step_id"], []).append(int(p["latency_us"]) * int(p["attempts"]))
    for s in r["steps"]:
        if s["status"] != "STEP_SUCCEEDED":
            continue
        st = (int(s["finished_at_unix_us"]) - int(s["started_at_unix_us"])) / 1000
        jb = sum(ops.get(s["id"], [])) / 1000
        pr = sum(probes.get(s["id"], [])) / 1000
        step_ms.append(st); job_ms.append(jb); probe_ms.append(pr)
        over_ms.append(st - jb - pr); over_np_ms.append(st - jb)
base = [int(x) / 1000 for x in open(baseline)]
def line(name, xs):
    xs = sorted(xs)
    p95 = xs[max(0, int(len(xs) * 0.95) - 1)]
    print(f"  {name:<44} median {statistics.median(xs):7.1f} ms   p95 {p95:7.1f} ms   n={len(xs)}")
print("per restart step (stop + start + gate on health):")
line("step time seen by the coordinator", step_ms)
line("systemd jobs reported by the agent", job_ms)
line("gate probes (latency x attempts)", probe_ms)
line("coordinator overhead = step - jobs", over_np_ms)
line("coordinator overhead = step - jobs - probes", over_ms)
line("baseline script: nsenter+systemctl+curl", base)
print(f"  ratio step / baseline (median): {statistics.median(step_ms) / statistics.median(base):.2f}")
print(f"memory: coordinator RSS {int(coord_rss) / 1024:.1f} MiB; agents RSS (MiB):",
      " ".join(f"{kv.split('=')[0]}={int(kv.split('=')[1]) / 1024:.1f}" for kv in agent_rss.split()))
PY
