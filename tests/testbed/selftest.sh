#!/usr/bin/env bash
# Self-test of the test bed: boots real systemd hosts, checks networking,
# unit control, link cuts and failure injection, then that teardown leaves
# nothing behind. Must run as root. Exit 0 only if every check passes.
#
#   tests/testbed/selftest.sh
#
# Also prints the time of `up` for 3 hosts and of `down`.
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
TB=$HERE/testbed.sh
REPO=$(readlink -f "$HERE/../..")
STATE=${FO_SELFTEST_STATE:-$REPO/build/tb-selftest}
# Own netns prefix: another testbed (default prefix fo-) may be live meanwhile.
PREFIX=${FO_NS_PREFIX:-fost-}
export FO_NS_PREFIX=$PREFIX
HOSTS=(a b c)
# Never go through a proxy: everything is on the local bridge.
CURL=(curl -sf --noproxy '*' --max-time 2)

failures=0
ok() { echo "ok   - $*"; }
bad() { echo "FAIL - $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION CMD...
  local desc=$1
  shift
  if "$@" >/dev/null 2>&1; then ok "$desc"; else bad "$desc"; fi
}
now() { echo "${EPOCHREALTIME/,/.}"; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
tb() { "$TB" "$@"; }
inside() { "$TB" exec "$STATE" "$@"; } # inside HOST CMD...

[[ $EUID == 0 ]] || { echo "selftest: must run as root" >&2; exit 1; }

# A file in this machine's /tmp that systemd inside the hosts must not touch.
MARKER=$(mktemp /tmp/fo-testbed-marker.XXXXXX)
# /run/netns must end as it started (a mount or not).
netns_mount_before=$(mountpoint -q /run/netns 2>/dev/null && echo yes || echo no)
PIDS=() # every PID 1 we saw, all must be gone after down
CGROOT=/sys/fs/cgroup/unified
[[ -d $CGROOT ]] || CGROOT=/sys/fs/cgroup

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Always tear down, also after a failed check or Ctrl-C.
  if [[ -d $STATE ]]; then "$TB" down "$STATE" >/dev/null 2>&1 || "$TB" down "$STATE" || true; fi
  rm -f "$MARKER"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Leftovers of an earlier, killed run.
if [[ -d $STATE ]]; then tb down "$STATE" >/dev/null; fi
rm -rf "$STATE"
mkdir -p "$STATE/control"

# Payload: demo-web.service on every host, started at boot.
make_payload() {
  local name
  for name in "$@"; do
    mkdir -p "$STATE/hosts/$name/units"
    cat >"$STATE/hosts/$name/units/demo-web.service" <<EOF
[Unit]
Description=Demo web service (fake SLS service)
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/python3 $HERE/fake-service.py --name demo-web --port 8080 --control-dir $STATE/control
EOF
    echo demo-web.service >"$STATE/hosts/$name/boot-units"
  done
}

main_pid() { inside "$1" systemctl show -p MainPID --value demo-web; }

# fo- links of other testbeds' live hosts (their netns has processes).
foreign_links() {
  local l peer
  for l in $(ip -o link show type veth | awk -F': ' '{ split($2, a, "@"); if (a[1] ~ /^fo-/) print a[1] }'); do
    peer=$(ip -o link show "$l" | sed -n 's/.* link-netns \([^ ]*\).*/\1/p')
    if [[ -n $peer && $peer != "$PREFIX"* && -n $(ip netns pids "$peer" 2>/dev/null) ]]; then echo "$l"; fi
  done
}

nothing_left() {
  local what=$1 h p
  check "$what: no netns with prefix $PREFIX" \
    bash -c "! ip netns list | awk '{print \$1}' | grep -q '^$PREFIX'"
  # Links of another testbed running meanwhile are not ours to judge (it
  # may also be tearing down right now: allow it a few seconds).
  local foreign left=() l i
  for ((i = 0; i < 15; i++)); do
    foreign=$(foreign_links | tr '\n' ' ') left=()
    for l in $(ip -o link show | awk -F': ' '{ split($2, a, "@"); print a[1] }'); do
      if [[ $l == fo-* && " $foreign " != *" $l "* ]]; then left+=("$l"); fi
    done
    ((${#left[@]} > 0)) || break
    sleep 0.2
  done
  check "$what: no fo- links (left: ${left[*]:-none}; other live testbeds: ${foreign:-none})" \
    test "${#left[@]}" -eq 0
  for h in "${HOSTS[@]}"; do
    check "$what: no cgroup $CGROOT/$PREFIX$h" test ! -e "$CGROOT/$PREFIX$h"
  done
  for p in "${PIDS[@]+"${PIDS[@]}"}"; do
    # Gone, or the PID was reused by a process of another pid namespace.
    check "$what: PID 1 ${p%%=*} is gone" \
      test "$(readlink "/proc/${p%%=*}/ns/pid" 2>/dev/null)" != "${p#*=}"
  done
  check "$what: marker in this machine's /tmp survived" test -f "$MARKER"
  # We must not leave a /run/netns mount that was not there before (unless
  # another testbed's live hosts need it).
  local netns_mount_now
  netns_mount_now=$(mountpoint -q /run/netns 2>/dev/null && echo yes || echo no)
  if [[ -z $foreign ]]; then
    check "$what: no /run/netns mount left behind (before: $netns_mount_before, now: $netns_mount_now)" \
      test "$netns_mount_before/$netns_mount_now" != no/yes
  else
    echo "skip - $what: /run/netns mount check (another testbed is live)"
  fi
}
remember_pids() { # entries PID=PIDNS-LINK
  local h p
  for h in "$@"; do
    p=$(tb pid1 "$STATE" "$h")
    PIDS+=("$p=$(readlink "/proc/$p/ns/pid")")
  done
}

# ------------------------------------------------------------------ 2 hosts
echo "# up a:21 b:22"
make_payload a b
t=$(now)
tb up "$STATE" a:21 b:22
echo "# up of 2 hosts: $(since "$t") s"
remember_pids a b

check "curl a /health from the root namespace" "${CURL[@]}" http://10.77.0.21:8080/health
check "curl b /health from the root namespace" "${CURL[@]}" http://10.77.0.22:8080/health
body=$("${CURL[@]}" http://10.77.0.21:8080/health || true)
check "health body names the service" grep -q '"name": "demo-web"' <<<"$body"
check "host a reaches host b over the bridge" inside a "${CURL[@]}" http://10.77.0.22:8080/health
check "host a has no default route" bash -c "! '$TB' exec '$STATE' a ip route | grep -q default"
check "host a sees a private /tmp (no marker)" bash -c "! '$TB' exec '$STATE' a test -e '$MARKER'"
check "host a has read-only /etc" bash -c "! '$TB' exec '$STATE' a touch /etc/fo-testbed-probe"
check "hostname inside is a" bash -c "[[ \$('$TB' exec '$STATE' a hostname) == a ]]"
check "exec passes the exit code through" bash -c "'$TB' exec '$STATE' a sh -c 'exit 7'; [[ \$? == 7 ]]"
check "pid1 prints a live process" bash -c "kill -0 \$('$TB' pid1 '$STATE' a)"

pid_before=$(main_pid a || echo 0)
check "MainPID of demo-web is nonzero ($pid_before)" test "$pid_before" -gt 0
check "systemctl restart demo-web succeeds" inside a systemctl restart demo-web
pid_after=$(main_pid a || echo 0)
check "restart changed MainPID ($pid_before -> $pid_after)" \
  bash -c "[[ $pid_after -gt 0 && $pid_after != $pid_before ]]"

# Link cut: curl must fail within 2 s; b stays reachable; restore works.
tb link "$STATE" a down
t=$(now)
if "${CURL[@]}" http://10.77.0.21:8080/health >/dev/null 2>&1; then
  bad "curl a fails after link down"
else
  ok "curl a fails after link down (in $(since "$t") s)"
fi
check "b still reachable while a is cut" "${CURL[@]}" http://10.77.0.22:8080/health
tb link "$STATE" a up
t=$(now) restored=0
for _ in $(seq 50); do
  if "${CURL[@]}" http://10.77.0.21:8080/health >/dev/null 2>&1; then restored=1; break; fi
  sleep 0.1
done
if [[ $restored == 1 ]]; then ok "curl a works again after link up ($(since "$t") s)"; else bad "curl a works again after link up"; fi

# Failure injection: the fail-start control file makes a restart fail.
touch "$STATE/control/demo-web.fail-start"
check "restart fails with fail-start set" bash -c "! '$TB' exec '$STATE' a systemctl restart demo-web"
state=$(inside a systemctl show -p ActiveState --value demo-web || true)
check "ActiveState is failed ($state)" test "$state" = failed
rm -f "$STATE/control/demo-web.fail-start"
check "restart works again without fail-start" inside a systemctl restart demo-web
state=$(inside a systemctl show -p ActiveState --value demo-web || true)
check "ActiveState is active ($state)" test "$state" = active

t=$(now)
tb down "$STATE"
echo "# down of 2 hosts: $(since "$t") s"
nothing_left "after down"

# ------------------------------------------------------------------ timing
echo "# timing: up of 3 hosts, then down"
make_payload c
t=$(now)
tb up "$STATE" a:21 b:22 c:23
up_time=$(since "$t")
remember_pids a b c
check "c answers /health" "${CURL[@]}" http://10.77.0.23:8080/health
t=$(now)
tb down "$STATE"
down_time=$(since "$t")
nothing_left "after second down"
echo "# TIMING up(3 hosts)=${up_time}s down(3 hosts)=${down_time}s"

if ((failures > 0)); then
  echo "selftest: $failures check(s) FAILED"
  exit 1
fi
echo "selftest: all checks passed"
