#!/usr/bin/env bash
# make bench: step timings on the real-systemd test bed.
#  1. N executed rolling failovers (5 restart steps each) through coordinator and agents; per step:
#     step time seen by the coordinator, systemd job time reported by the agent (stop + start,
#     D-Bus call to JobRemoved), gate probe time, and the coordinator's own overhead
#     (step - jobs - probes) and (step - jobs).
#  2. The same restarts as a plain script would do them (nsenter + systemctl stop/start + curl):
#     the baseline the issue compares against.
#  3. Memory: RSS of the coordinator and of each agent after the runs.
#  4. Fixed cost per run: failoverctl's wall time of a run minus its steps (start-up, connect,
#     preflight, final health and state, report), and the same inside the coordinator (report
#     start to end minus the steps).
#  5. Idle: RSS and CPU of the coordinator and each agent over IDLE_SECONDS (default 60) of no runs
#     (their channels kept open, as between runs), against issue 11's goal (PASS/over); PSS and
#     anonymous memory beside RSS (RSS counts every mapped page of shared library text).
#  6. failoverctl to its first byte of output: --help, and `plan` against a coordinator that does
#     not listen (median of 20).
#  7. Ten hosts running sls-bot: rolling and one wave of ten, each against the floor measured in
#     the same runs (below).
# The settle window is the config's defaults.healthy_for_ms (1000 ms in the test bed's sls.yaml):
# the floor below includes it, the steps wait it out after their gate.
set -euo pipefail
runs=${BENCH_RUNS:-10}
repo=$(cd "$(dirname "$0")/../.." && pwd)
tb=$repo/tests/testbed
state=$repo/build/bench
bin=$repo/build/bin
source "$tb/sls-lib.sh"

echo "bench: load before: $(uptime)"
sls_up "$state" >/dev/null
sock=$state/coordinator.sock
start_coordinator "$state" "$sock" "$state/reports"

echo "bench: $runs executed rolling failovers (5 restart steps each) on 3 test hosts"
walls=$state/run-walls.txt
: > "$walls"
for i in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$bin/failoverctl" --coordinator "unix:$sock" run --execute > /dev/null 2>&1 || { echo "run $i failed" >&2; exit 1; }
  echo $(( ($(date +%s%N) - t0) / 1000 )) >> "$walls"
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

idle_s=${IDLE_SECONDS:-60}
echo "bench: ${idle_s} s of idle (no runs; channels stay open)"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
idle_pids="coordinator=$coord_pid"
for h in api cerebro panel; do idle_pids="$idle_pids $h=$(pgrep -f "failover-agent --config $state/hosts/$h/agent.yaml" | head -1)"; done
idle_before=""; for kv in $idle_pids; do idle_before="$idle_before ${kv%%=*}=$(ticks ${kv#*=})"; done
sleep "$idle_s"
idle=""
for kv in $idle_pids; do
  name=${kv%%=*}; pid=${kv#*=}
  t0=$(tr ' ' '\n' <<< "$idle_before" | awk -F= -v n="$name" '$1 == n {print $2}')
  idle="$idle $name=$(( $(ticks "$pid") - t0 )):$(awk '/VmRSS/ {print $2}' /proc/$pid/status)"
  idle="$idle:$(awk '/^Pss:/ {p = $2} /^Anonymous:/ {a = $2} END {print p ":" a}' /proc/$pid/smaps_rollup)"
done

echo "bench: failoverctl to first byte of output (median of 20)"
first_byte=$(python3 - "$bin/failoverctl" "$state/nobody.sock" <<'PY'
import os, statistics, subprocess, sys, time
ctl, nobody = sys.argv[1], sys.argv[2]
def first_byte(args):
    xs = []
    for _ in range(20):
        t0 = time.perf_counter()
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        p.stdout.read(1)
        xs.append((time.perf_counter() - t0) * 1000)
        p.communicate()
    return statistics.median(xs)
print(f"{first_byte([ctl, '--help']):.1f} {first_byte([ctl, '--coordinator', 'unix:' + nobody, 'plan']):.1f}"
      f" {first_byte([ctl, '--version']):.1f}")
PY
)

python3 - "$state/reports" "$baseline" "$coord_rss" "$agent_rss" "$walls" "$idle_s" "$idle" "$first_byte" \
  "$(awk '/^ *healthy_for_ms:/ {print $2; exit}' "$state/sls.yaml")" <<'PY'
import json, glob, statistics, sys
reports, baseline, coord_rss, agent_rss = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
walls_file, idle_s, idle, first_byte = sys.argv[5], int(sys.argv[6]), sys.argv[7], sys.argv[8].split()
run_walls = [int(x) / 1000 for x in open(walls_file)]
settle = int(sys.argv[9] or 1000)  # defaults.healthy_for_ms of the test bed's config (1000 when unset)
step_ms, job_ms, probe_ms, over_ms, over_np_ms = [], [], [], [], []
settle_ms, over_ns_ms, fixed_in, fixed_e2e, run_ratio = [], [], [], [], []
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
    steps_sum = sum((int(s["finished_at_unix_us"]) - int(s["started_at_unix_us"])) / 1000
                    for s in r["steps"] if s.get("started_at_unix_us"))
    fixed_in.append((int(r["finished_at_unix_us"]) - int(r["started_at_unix_us"])) / 1000 - steps_sum)
    floor_sum = sum(sum(ops.get(s["id"], [])) / 1000 + sum(probes.get(s["id"], [])) / 1000 + settle
                    for s in r["steps"] if s["status"] == "STEP_SUCCEEDED")
    if len(fixed_e2e) < len(run_walls):
        run_ratio.append(run_walls[len(fixed_e2e)] / floor_sum)
        fixed_e2e.append(run_walls[len(fixed_e2e)] - steps_sum)
    for s in r["steps"]:
        if s["status"] != "STEP_SUCCEEDED":
            continue
        settle_ms.append(settle)
        st = (int(s["finished_at_unix_us"]) - int(s["started_at_unix_us"])) / 1000
        jb = sum(ops.get(s["id"], [])) / 1000
        pr = sum(probes.get(s["id"], [])) / 1000
        step_ms.append(st); job_ms.append(jb); probe_ms.append(pr)
        over_ms.append(st - jb - pr); over_np_ms.append(st - jb)
        over_ns_ms.append(st - jb - pr - settle_ms[-1])
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
print(f"  settle window per step (defaults.healthy_for_ms, waited on the agent): {statistics.median(settle_ms):.0f} ms")
line("overhead per step = step - jobs - probes - settle", over_ns_ms)
line("baseline script: nsenter+systemctl+curl", base)
print(f"  ratio step / baseline (median): {statistics.median(step_ms) / statistics.median(base):.2f}")
print(f"  floor per step = jobs + probes + settle, measured in the same runs; step / floor (median):"
      f" {statistics.median(s / (j + p + settle) for s, j, p in zip(step_ms, job_ms, probe_ms)):.3f}x")
print(f"  whole run (failoverctl wall) / floor of its steps (median): {statistics.median(run_ratio):.3f}x")
print("fixed cost per run (3 hosts, 5 steps):")
line("failoverctl wall - steps", fixed_e2e)
line("in the coordinator: report start..end - steps", fixed_in)
print(f"memory: coordinator RSS {int(coord_rss) / 1024:.1f} MiB; agents RSS (MiB):",
      " ".join(f"{kv.split('=')[0]}={int(kv.split('=')[1]) / 1024:.1f}" for kv in agent_rss.split()))
print(f"idle for {idle_s} s (no runs; channels kept); goal per daemon (issue 11): CPU <= 0.10 %, RSS <= 20.0 MiB")
for kv in idle.split():
    name, v = kv.split("=")
    ticks, rss, pss, anon = (int(x) for x in v.split(":"))
    cpu, rss_mib = ticks / 100 / idle_s * 100, rss / 1024
    print(f"  {name:<12} CPU {cpu:5.2f} % {'PASS' if cpu <= 0.10 else 'over'}   RSS {rss_mib:5.1f} MiB "
          f"{'PASS' if rss_mib <= 20.0 else 'over'}   (PSS {pss / 1024:.1f} MiB, anonymous {anon / 1024:.1f} MiB)")
print(f"failoverctl to first byte (median of 20): --help {first_byte[0]} ms; --version {first_byte[2]} ms;"
      f" plan, coordinator not listening {first_byte[1]} ms")
PY

# 7. Ten hosts running sls-bot (api, cerebro and BENCH_BOT_HOSTS=8 more): RUNS executed failovers
#    of sls-bot one host at a time (rolling) and RUNS with all ten in one wave (--max-parallel 10).
#    The floor of a step is measured in the same run: the agent's systemd jobs + its gate probes +
#    the settle window, of the slowest host of the step; overhead = step time - floor; fixed cost =
#    failoverctl's wall time - the steps.
bots=${BENCH_BOT_HOSTS:-8}
hosts10=$((bots + 2))
echo "bench: $hosts10 hosts running sls-bot: $runs rolling runs, then $runs runs in one wave of $hosts10"
kill "$coord_pid"; wait "$coord_pid" 2>/dev/null || true; coord_pid=
sls_up "$state" "$bots" >/dev/null
start_coordinator "$state" "$sock" "$state/reports10"
walls10=$state/run-walls10.txt
: > "$walls10"
for par in 1 "$hosts10"; do
  for i in $(seq "$runs"); do
    t0=$(date +%s%N)
    "$bin/failoverctl" --coordinator "unix:$sock" run --execute --services sls-bot --max-parallel "$par" > /dev/null 2>&1 \
      || { echo "run $i (max-parallel $par) failed" >&2; exit 1; }
    echo "$par $(( ($(date +%s%N) - t0) / 1000 ))" >> "$walls10"
  done
done
python3 - "$state/reports10" "$walls10" "$(awk '/^ *healthy_for_ms:/ {print $2; exit}' "$state/sls.yaml")" <<'PY'
import json, glob, statistics, sys
reports, walls_file = sys.argv[1], sys.argv[2]
settle = int(sys.argv[3] or 1000)
walls = {}
for line in open(walls_file):
    par, us = line.split()
    walls.setdefault(int(par), []).append(int(us) / 1000)
runs = {}
for path in sorted(glob.glob(reports + "/*.json")):
    r = json.load(open(path))
    if not r["dry_run"]:
        runs.setdefault(int(r.get("max_parallel", 1)), []).append(r)
def per_host(r, key_list, value):
    out = {}
    for x in r.get(key_list, []):
        if x.get("step_id"):
            out.setdefault((x["step_id"], x.get("host", "")), []).append(value(x))
    return out
def med(xs): return statistics.median(xs) if xs else float("nan")
def p95(xs):
    xs = sorted(xs)
    return xs[max(0, int(len(xs) * 0.95) - 1)] if xs else float("nan")
for par in sorted(runs):
    steps, floors, overs, fixed_e2e, fixed_in, ratios = [], [], [], [], [], []
    for n, r in enumerate(runs[par]):
        jobs = per_host(r, "operations", lambda o: int(o.get("duration_us", 0)) / 1000)
        probes = per_host(r, "health", lambda p: int(p.get("latency_us", 0)) * int(p.get("attempts", 1)) / 1000)
        run_steps, run_floor = 0.0, 0.0
        for s in r["steps"]:
            if s["status"] != "STEP_SUCCEEDED":
                continue
            st = (int(s["finished_at_unix_us"]) - int(s["started_at_unix_us"])) / 1000
            floor = settle + max(sum(jobs.get((s["id"], h), [])) + sum(probes.get((s["id"], h), [])) for h in s["hosts"])
            steps.append(st); floors.append(floor); overs.append(st - floor)
            run_steps += st; run_floor += floor
        fixed_in.append((int(r["finished_at_unix_us"]) - int(r["started_at_unix_us"])) / 1000 - run_steps)
        if n < len(walls.get(par, [])):
            fixed_e2e.append(walls[par][n] - run_steps)
            ratios.append(walls[par][n] / run_floor)
    label = "rolling, one host per step" if par == 1 else f"one wave of {par} hosts"
    print(f"{len(r['steps'])}-step runs of sls-bot on {sum(len(s['hosts']) for s in r['steps'])} hosts, {label} (n={len(runs[par])} runs):")
    print(f"  step (wave) time                      median {med(steps):8.1f} ms")
    print(f"  floor: slowest host's jobs + probes + settle {med(floors):8.1f} ms")
    print(f"  overhead per {'step' if par == 1 else 'wave'} = step - floor      median {med(overs):8.1f} ms   p95 {p95(overs):8.1f} ms")
    print(f"  fixed cost per run: failoverctl wall - steps {med(fixed_e2e):7.1f} ms; inside the coordinator {med(fixed_in):7.1f} ms")
    print(f"  run (failoverctl wall) / floor of its steps: {med(ratios):.3f}x")
PY
