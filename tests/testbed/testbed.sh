#!/usr/bin/env bash
# Test hosts with a real systemd as PID 1, one per network namespace.
#
#   testbed.sh up     STATE_DIR NAME:N [NAME:N ...]   boot hosts (10.77.0.N on bridge)
#   testbed.sh down   STATE_DIR                       tear down everything, verify
#   testbed.sh exec   STATE_DIR NAME CMD [ARGS...]    run CMD inside host NAME
#   testbed.sh pid1   STATE_DIR NAME                  host's PID 1 (root-ns view)
#   testbed.sh link   STATE_DIR NAME down|up          cut / restore host's network
#
# Environment: FO_BRIDGE (default fobr0), FO_NS_PREFIX (default fo-),
#   FO_BOOT_TIMEOUT seconds (default 30). Several testbeds may run side by
#   side (distinct STATE_DIRs, host names and addresses; they share the
#   bridge); `down` then tolerates the other testbeds' live hosts only.
#
# Caller payload per host, prepared before `up`:
#   STATE_DIR/hosts/NAME/units/       unit files for /run/systemd/system inside
#   STATE_DIR/hosts/NAME/boot-units   unit names (one per line) started at boot
#   STATE_DIR/hosts/NAME/overlay-root (optional, empty) /usr, /etc and /var/lib/dpkg writable
#                                     copy-on-write inside the host (to install a .deb there)
#
# Recipe and its reasons: shared testbed-notes.md. Must run as root. The whole
# point is that nothing leaks onto this machine: private /tmp, /run, ... inside,
# kills only by recorded PID (checked against its pid namespace) or through
# the cgroup that `up` created, and `down` verifies that nothing is left.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
BRIDGE=${FO_BRIDGE:-fobr0}
PREFIX=${FO_NS_PREFIX:-fo-}
BOOT_TIMEOUT=${FO_BOOT_TIMEOUT:-30}
SUBNET=10.77.0
HOST_TARGET=fo-testbed.target
# Units copied from Debian into every host (D-Bus system bus + journald).
INFRA_UNITS=(dbus.socket dbus.service systemd-journald.service
  systemd-journald.socket systemd-journald-dev-log.socket)
STUB_TARGETS=(sysinit basic sockets timers paths slices shutdown)
# Per-host runtime records, removed by a successful `down` (console.log stays).
RECORDS=(netns veth ip cgroup launcher launcher-start pid1 pidns)

die() { echo "testbed: $*" >&2; exit 1; }
# Output must never abort a teardown (the reader may be gone: EPIPE).
log() { echo "testbed: $*" >&2 || true; }
say() { echo "$@" || true; }
now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# ---------------------------------------------------------------- state dir

# Hosts read their payload from the state dir, and their units run programs from this tree.
# /run, /var/log, ... are private inside the hosts, so the state dir may not be there; /tmp and
# /var/tmp are private too, but a state dir or tree under them (a clone in /tmp) is bind-mounted
# at the same path inside every host (see share_dirs).
resolve_state_dir() {
  local dir=$1 create=${2:-0}
  [[ $dir == /* ]] || dir=$PWD/$dir
  dir=$(realpath -m "$dir") # symlinks resolved as far as they exist
  local p
  for p in /tmp /var/tmp /run /dev /proc /sys /var/log /var/lib/systemd; do
    [[ $p == /tmp || $p == /var/tmp ]] && continue
    if [[ $dir == "$p" || $dir == "$p"/* ]]; then
      die "STATE_DIR $dir is under $p, which is private inside the hosts; use a directory on the root filesystem (e.g. under the build dir)"
    fi
  done
  if [[ $create == 1 ]]; then mkdir -p "$dir"; fi
  printf '%s\n' "$dir"
}

# testbed.conf: key=value lines written by `up`, read back without sourcing.
conf_get() {
  local state=$1 key=$2 def=${3-}
  local line
  if [[ -f $state/testbed.conf ]]; then
    while IFS= read -r line; do
      if [[ $line == "$key="* ]]; then printf '%s\n' "${line#*=}"; return 0; fi
    done <"$state/testbed.conf"
  fi
  printf '%s\n' "$def"
}
conf_set() { echo "$2=$3" >>"$1/testbed.conf"; }

rec_get() { # rec_get HOSTDIR KEY -> value or empty
  if [[ -f $1/$2 ]]; then cat "$1/$2"; fi
}

# Host dirs that hold runtime records (i.e. were claimed by some `up`).
recorded_hosts() {
  local state=$1 d r
  [[ -d $state/hosts ]] || return 0
  for d in "$state"/hosts/*/; do
    d=${d%/}
    for r in "${RECORDS[@]}"; do
      if [[ -e $d/$r ]]; then basename "$d"; break; fi
    done
  done
}

cgroup2_root() {
  if [[ $(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null) == cgroup2fs ]]; then
    echo /sys/fs/cgroup/unified # hybrid layout (this machine)
  elif [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]]; then
    echo /sys/fs/cgroup
  else
    die "no cgroup v2 hierarchy found"
  fi
}

# ---------------------------------------------------------------- processes

proc_stat_field() { # proc_stat_field PID N: field N of /proc/PID/stat (N >= 3)
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) } # comm may contain spaces
  awk -v n="$(($2 - 2))" '{ print $n }' <<<"$s"
}
proc_starttime() { proc_stat_field "$1" 22; }

# True if PID is the recorded launcher (same start time: no PID reuse) and
# not a zombie (when `up` tears down after a failure, the launchers are its
# own children and nobody reaps them before it exits).
launcher_alive() {
  local pid=$1 start=$2 st
  [[ -n $pid && -d /proc/$pid ]] || return 1
  st=$(proc_stat_field "$pid" 3) || return 1
  [[ $st != Z ]] || return 1
  [[ -z $start || $(proc_starttime "$pid" 2>/dev/null) == "$start" ]]
}

# True if PID is still this host's PID 1: its pid-namespace link matches the
# recorded one or, if `up` died before recording it, it is PID 1 of some
# namespace and lives in the cgroup that `up` created.
pid1_alive() {
  local pid=$1 pidns=$2 cg=$3 link nspid cgpath st
  [[ -n $pid && -d /proc/$pid ]] || return 1
  # A zombie is dead already (its parent died before reaping it; this
  # machine's init reaps it later). SIGKILL cannot do more.
  st=$(proc_stat_field "$pid" 3) || return 1
  [[ $st != Z ]] || return 1
  link=$(readlink "/proc/$pid/ns/pid" 2>/dev/null) || return 1
  if [[ -n $pidns ]]; then
    # Explicit status: a bare `return` inside the EXIT trap (teardown after
    # a failed `up`) would return the status the trap was entered with.
    [[ $link == "$pidns" ]]
    return $?
  fi
  nspid=$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null) || return 1
  [[ $nspid == 1 && -n $cg ]] || return 1
  cgpath=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null) || return 1
  [[ $(cgroup2_root)$cgpath == "$cg" || $(cgroup2_root)$cgpath == "$cg"/* ]]
}

# PID 1 of a running host, or exit with a message.
host_pid1() {
  local state=$1 name=$2 hd pid pidns
  hd=$state/hosts/$name
  pid=$(rec_get "$hd" pid1)
  pidns=$(rec_get "$hd" pidns)
  [[ -n $pid && -n $pidns ]] || die "host $name is not recorded as up in $state"
  pid1_alive "$pid" "$pidns" "" || die "host $name (pid1 $pid) is not running"
  echo "$pid"
}

# Directories under /tmp or /var/tmp the hosts must see: this tree (fake-service.py, the
# binaries) and the state dir (payload, control files) unless it is inside the tree.
share_dirs() {
  local state=$1 tree d
  tree=$(cd "$(dirname "$SELF")/../.." && pwd -P)
  for d in "$tree" "$state"; do
    [[ $d == "$tree" || ( $d != "$tree"/* ) ]] || continue
    [[ $d == /tmp/* || $d == /var/tmp/* ]] && printf '%s\n' "$d"
  done
  return 0
}

# ---------------------------------------------------------------- inside: PID 1

# Runs as PID 1 of the new pid/mount/uts/ipc/cgroup namespaces (inside the
# host's netns), prepares the file system, then execs systemd. Fails closed:
# any error exits PID 1, which kills the whole namespace.
host_init() {
  local state=$1 name=$2
  local hd=$state/hosts/$name
  trap 'echo "testbed init[$name]: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
  # -n: libmount would otherwise create /run/mount on this machine's /run
  # (our private /run comes only later).
  mount() { command mount -n "$@"; }
  umount() { command umount -n "$@"; }

  # /proc is still this machine's proc mount here, so this is our root-ns
  # PID. Recorded first thing (pidns before pid1: readers wait for pid1), so
  # `down` can always find and check this process, whatever happens to `up`.
  local outer_pid rest
  read -r outer_pid rest </proc/self/stat
  readlink /proc/self/ns/pid >"$hd/pidns"
  echo "$outer_pid" >"$hd/pid1.tmp"
  mv "$hd/pid1.tmp" "$hd/pid1"
  local console
  console=$(tty) # the pty from `script`; becomes /dev/console

  mount --make-rprivate /
  # Otherwise this namespace pins the other hosts' netns after `ip netns del`.
  if mountpoint -q /run/netns; then umount -R /run/netns; fi

  mount -t proc -o nosuid,nodev,noexec proc /proc
  # systemd raises kernel-wide sysctls even in a container: /proc/sys
  # read-only, except net (per-netns, ours).
  mount --bind /proc/sys/net /proc/sys/net
  mount --rbind /proc/sys /proc/sys
  mount -o remount,bind,ro /proc/sys
  # `ip netns exec` mounted a fresh /sys; make it read-only and give systemd
  # the cgroup2 view of its own cgroup namespace.
  mount -o remount,bind,ro /sys
  mount -t cgroup2 cgroup2 /sys/fs/cgroup

  # Private writable dirs. /tmp is the critical one: systemd must never see
  # (and clean) this machine's /tmp.
  local tmp_dev_before
  tmp_dev_before=$(stat -c %d /tmp)
  # The tree and the state dir, when under /tmp or /var/tmp, held open across the private
  # mounts below and bound back at the same path (a clone in /tmp works like any other).
  local shared=() d fd=20
  for d in $(share_dirs "$state"); do
    eval "exec $fd<\"\$d\""
    shared+=("$fd:$d")
    fd=$((fd + 1))
  done
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /var/log
  mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /var/lib/systemd
  [[ $(stat -c %d /tmp) != "$tmp_dev_before" ]] || { echo "private /tmp not mounted" >&2; exit 1; }
  local s
  for s in "${shared[@]}"; do
    mkdir -p "${s#*:}"
    mount -c --bind "/proc/self/fd/${s%%:*}" "${s#*:}"  # -c: the fd, not its (now hidden) path
    eval "exec ${s%%:*}<&-"
  done

  # Read-only /etc with this host's identity on top.
  local hostdir=/run/fo-host
  mkdir -p "$hostdir" /run/fo-empty
  echo "$name" >"$hostdir/hostname"
  od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$hostdir/machine-id"
  echo >>"$hostdir/machine-id"
  if [[ -f $hd/overlay-root ]]; then
    # A host that may install packages: /usr, /etc and dpkg's database get a copy-on-write layer
    # on this host's private tmpfs, so `dpkg -i` inside it changes nothing on this machine.
    local d n=0
    for d in /usr /etc /var/lib/dpkg; do
      n=$((n + 1))
      mkdir -p "$hostdir/overlay/$n/upper" "$hostdir/overlay/$n/work"
      mount -t overlay overlay -o "lowerdir=$d,upperdir=$hostdir/overlay/$n/upper,workdir=$hostdir/overlay/$n/work" "$d"
    done
  else
    mount --bind /etc /etc
    mount -o remount,bind,ro /etc
  fi
  if [[ -f /etc/hostname ]]; then mount --bind "$hostdir/hostname" /etc/hostname; fi
  mount --bind "$hostdir/machine-id" /etc/machine-id
  if [[ -f /var/lib/dbus/machine-id && ! -L /var/lib/dbus/machine-id ]]; then
    mount --bind "$hostdir/machine-id" /var/lib/dbus/machine-id
  fi
  hostname "$name"

  # Private /dev: a few nodes, own devpts, shm, console = our pty.
  local nd=$hostdir/dev
  mkdir -p "$nd"
  mount -t tmpfs -o mode=0755,nosuid tmpfs "$nd"
  cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty "$nd/"
  mkdir "$nd/pts" "$nd/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$nd/pts"
  ln -s pts/ptmx "$nd/ptmx"
  mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$nd/shm"
  ln -s /proc/self/fd "$nd/fd"
  ln -s /proc/self/fd/0 "$nd/stdin"
  ln -s /proc/self/fd/1 "$nd/stdout"
  ln -s /proc/self/fd/2 "$nd/stderr"
  touch "$nd/console"
  mount --bind "$console" "$nd/console"
  mount --move "$nd" /dev

  # Units live only in /run/systemd/system: nothing from /lib/systemd/system
  # (tmpfiles, sysctl, getty, ...) exists for this manager.
  local u=/run/systemd/system t f
  mkdir -p "$u/$HOST_TARGET.wants"
  for t in "${STUB_TARGETS[@]}"; do
    printf '[Unit]\nDescription=Stub %s.target (testbed)\nDefaultDependencies=no\n' "$t" >"$u/$t.target"
  done
  cat >"$u/$HOST_TARGET" <<EOF
[Unit]
Description=Test host $name
DefaultDependencies=no
Requires=dbus.socket
Wants=dbus.service systemd-journald.socket systemd-journald-dev-log.socket
After=dbus.socket systemd-journald.socket systemd-journald-dev-log.socket
EOF
  for f in "${INFRA_UNITS[@]}"; do cp "/lib/systemd/system/$f" "$u/"; done
  # The caller's payload (may override the infrastructure units on purpose).
  if [[ -d $hd/units ]]; then cp -a "$hd/units/." "$u/"; fi
  local unit target
  while IFS= read -r unit; do
    target=$(unit_link_target "$u" "$unit")
    ln -s "../$target" "$u/$HOST_TARGET.wants/$unit"
  done < <(boot_units "$hd")

  exec env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    container=fo-testbed \
    SYSTEMD_UNIT_PATH=/run/systemd/system \
    SYSTEMD_GENERATOR_PATH=/run/fo-empty \
    SYSTEMD_ENVIRONMENT_GENERATOR_PATH=/run/fo-empty \
    setpriv --bounding-set -sys_module,-sys_time,-sys_rawio,-wake_alarm,-syslog,-mac_admin,-mac_override,-block_suspend \
    /lib/systemd/systemd --unit="$HOST_TARGET" --show-status=no
}

# Unit names from boot-units: trimmed, no blanks, no comments.
boot_units() {
  local f=$1/boot-units line
  [[ -f $f ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%%#*}
    line=$(echo "$line" | tr -d '[:space:]')
    if [[ -n $line ]]; then echo "$line"; fi
  done <"$f"
}

# File a .wants/ link for UNIT points at: the unit itself, or its template.
unit_link_target() {
  local dir=$1 unit=$2
  if [[ -e $dir/$unit ]]; then echo "$unit"; return 0; fi
  if [[ $unit =~ ^(.+@)[^@]+(\.[a-z]+)$ ]]; then
    local tmpl=${BASH_REMATCH[1]}${BASH_REMATCH[2]}
    if [[ -e $dir/$tmpl ]]; then echo "$tmpl"; return 0; fi
  fi
  return 1
}

# ---------------------------------------------------------------- up

cmd_up() {
  [[ $# -ge 2 ]] || die "usage: testbed.sh up STATE_DIR NAME:N [NAME:N ...]"
  [[ $EUID == 0 ]] || die "must run as root"
  local state
  state=$(resolve_state_dir "$1" 1)
  shift
  local t0
  t0=$(now)

  # --- validate everything before touching the system
  local -a names=() nums=()
  local spec name n seen_names=" " seen_nums=" "
  for spec in "$@"; do
    [[ $spec =~ ^([a-z0-9][a-z0-9-]{0,11}):([0-9]{1,3})$ ]] ||
      die "bad host spec '$spec': want NAME:N, NAME = [a-z0-9-] (max 12 chars), N = 2..254"
    name=${BASH_REMATCH[1]} n=$((10#${BASH_REMATCH[2]}))
    ((n >= 2 && n <= 254)) || die "host $name: N=$n out of range 2..254 (10.77.0.1 is the bridge)"
    [[ $seen_names != *" $name "* ]] || die "host name $name given twice"
    [[ $seen_nums != *" $n "* ]] || die "address 10.77.0.$n given twice"
    seen_names+="$name " seen_nums+="$n "
    names+=("$name") nums+=("$n")
  done
  local cgroot leftover
  cgroot=$(cgroup2_root)
  leftover=$(recorded_hosts "$state" | tr '\n' ' ')
  [[ -z $leftover ]] || die "$state still records hosts from an earlier up ($leftover); run: testbed.sh down $state"
  for name in "${names[@]}"; do
    [[ ! -e /run/netns/$PREFIX$name ]] || die "netns $PREFIX$name already exists (another testbed?)"
    ! ip link show "fo-$name" >/dev/null 2>&1 || die "link fo-$name already exists (another testbed?)"
    [[ ! -e $cgroot/$PREFIX$name ]] || die "cgroup $cgroot/$PREFIX$name already exists (another testbed?)"
    local hd=$state/hosts/$name u
    mkdir -p "$hd"
    while IFS= read -r u; do
      if [[ " ${INFRA_UNITS[*]} " == *" $u "* ]]; then continue; fi
      unit_link_target "$hd/units" "$u" >/dev/null ||
        die "host $name: boot unit '$u' has no file in $hd/units"
    done < <(boot_units "$hd")
  done
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    [[ -d /sys/class/net/$BRIDGE/bridge ]] || die "$BRIDGE exists and is not a bridge"
  fi

  # --- from here on, any failure tears down what this `up` created
  rm -f "$state/testbed.conf"
  conf_set "$state" prefix "$PREFIX"
  conf_set "$state" bridge "$BRIDGE"
  UP_STATE=$state UP_DONE=0
  trap 'up_failed $?' EXIT
  # Signals, including a vanished reader (PIPE), also lead to the teardown.
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 141' PIPE
  trap 'exit 143' TERM

  # Bridge in the root ns: the only way in or out of the hosts.
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    # Fixed MAC: a bridge otherwise takes the lowest port MAC, which changes
    # as hosts come and go, and the hosts' ARP entries for .1 go stale.
    ip link add "$BRIDGE" address 02:77:00:00:00:01 type bridge
    # No IPv6 link-local chatter: traffic stays in 10.77.0.0/24.
    echo 1 >"/proc/sys/net/ipv6/conf/$BRIDGE/disable_ipv6" 2>/dev/null || true
  fi
  ip addr replace "$SUBNET.1/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up

  # `ip netns add` mounts /run/netns if it is not a mount yet: remember that
  # (before, in case we are killed right after) so `down` undoes just that.
  if ! mountpoint -q /run/netns 2>/dev/null; then
    if [[ -d /run/netns ]]; then echo 1; else echo 0; fi >"$state/netns-mount-created" # did the dir exist
  fi

  # Networks first (serially: cheap), so that every host's mount namespace
  # is created after all netns mounts exist and drops all of them.
  local i ns veth
  for i in "${!names[@]}"; do
    name=${names[$i]} n=${nums[$i]} hd=$state/hosts/${names[$i]}
    ns=$PREFIX$name veth=fo-$name
    echo "$ns" >"$hd/netns"
    echo "$veth" >"$hd/veth"
    echo "$SUBNET.$n" >"$hd/ip"
    ip netns add "$ns"
    ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6' 2>/dev/null || true
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    # MAC derived from N, and no old ARP entry for the address: the bridge
    # may outlive a testbed (another one still uses it), and a root-ns ARP
    # entry for 10.77.0.N with a previous host's MAC would blackhole the
    # new host for seconds.
    ip -n "$ns" link set eth0 address "$(printf '02:77:00:00:01:%02x' "$n")"
    ip neigh flush to "$SUBNET.$n" dev "$BRIDGE" 2>/dev/null || true
    echo 1 >"/proc/sys/net/ipv6/conf/$veth/disable_ipv6" 2>/dev/null || true
    ip link set "$veth" master "$BRIDGE"
    ip link set "$veth" up
    ip -n "$ns" addr add "$SUBNET.$n/24" dev eth0
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done

  # Boot all hosts in parallel.
  local cg
  for name in "${names[@]}"; do
    hd=$state/hosts/$name ns=$PREFIX$name cg=$cgroot/$PREFIX$name
    [[ ! -e $cg ]] || die "cgroup $cg already exists (another testbed?)"
    echo "$cg" >"$hd/cgroup"
    mkdir "$cg"
    rm -f "$hd/console.log" "$hd/pid1" "$hd/pidns"
    local cmd
    cmd=$(printf '%q ' ip netns exec "$ns" unshare --pid --fork --kill-child=SIGKILL \
      --mount --uts --ipc --cgroup --propagation private "$SELF" _init "$state" "$name")
    # The launcher joins the host's cgroup before anything else runs, so that
    # every process of this host is in it (cgroup.kill backstop in `down`).
    # `script` gives PID 1 a pty as /dev/console and logs it. Its fds must
    # not be ours: a caller reading our output would wait for them forever.
    (
      echo "$BASHPID" >"$cg/cgroup.procs"
      export SHELL=/bin/bash # script runs "$SHELL -c CMD"; CMD is bash-quoted
      exec setsid script -qfec "$cmd" "$hd/console.log"
    ) </dev/null >"$hd/launcher.log" 2>&1 &
    echo "$!" >"$hd/launcher"
    proc_starttime "$!" >"$hd/launcher-start" || true
  done

  # Wait until every host's systemd says `running`.
  local deadline pending state_now pid1 lpid
  local -A checked=()
  deadline=$(awk -v a="$t0" -v t="$BOOT_TIMEOUT" 'BEGIN { printf "%.3f", a + t }')
  pending=("${names[@]}")
  while ((${#pending[@]} > 0)); do
    local still=()
    for name in "${pending[@]}"; do
      hd=$state/hosts/$name
      lpid=$(rec_get "$hd" launcher)
      if ! launcher_alive "$lpid" "$(rec_get "$hd" launcher-start)"; then
        boot_failure "$state" "$name" "its launcher exited (PID 1 died during boot)"
      fi
      pid1=$(rec_get "$hd" pid1)
      if [[ -n $pid1 && ${checked[$name]:-0} == 0 ]]; then
        # Sanity: PID 1 of a pid namespace that is not ours, as recorded.
        [[ $(awk '/^NSpid:/ { print $NF }' "/proc/$pid1/status" 2>/dev/null) == 1 &&
          $(readlink "/proc/$pid1/ns/pid") == "$(rec_get "$hd" pidns)" &&
          $(rec_get "$hd" pidns) != "$(readlink /proc/self/ns/pid)" ]] ||
          boot_failure "$state" "$name" "recorded pid1 $pid1 is not PID 1 of a new pid namespace"
        checked[$name]=1
      fi
      state_now=
      # Ask only once PID 1 has exec'd systemd (before that: "offline").
      if [[ -n $pid1 && $(readlink "/proc/$pid1/exe" 2>/dev/null) == */systemd/systemd ]]; then
        state_now=$(nsenter -t "$pid1" -m -u -i -n -p -C systemctl is-system-running 2>/dev/null) || true
      fi
      case $state_now in
        running)
          echo "up: $name  ip=$(cat "$hd/ip")  netns=$PREFIX$name  pid1=$pid1  ($(elapsed "$t0") s)"
          ;;
        degraded | maintenance | stopping)
          boot_failure "$state" "$name" "systemd is $state_now"
          ;;
        *) still+=("$name") ;;
      esac
    done
    pending=("${still[@]+"${still[@]}"}")
    if ((${#pending[@]} > 0)); then
      if awk -v d="$deadline" -v n="$(now)" 'BEGIN { exit !(n > d) }'; then
        boot_failure "$state" "${pending[0]}" "not running after ${BOOT_TIMEOUT}s (pending: ${pending[*]})"
      fi
      sleep 0.05
    fi
  done
  UP_DONE=1
  trap - EXIT HUP INT PIPE TERM
  echo "up: ${#names[@]} host(s) running in $(elapsed "$t0") s"
}

# Explain why a host did not boot, then fail (the EXIT trap tears down).
boot_failure() {
  local state=$1 name=$2 why=$3 hd pid1
  hd=$state/hosts/$name
  log "host $name failed to boot: $why"
  pid1=$(rec_get "$hd" pid1)
  # Diagnostics only: nothing here may stop us from reaching the teardown.
  {
    if [[ -n $pid1 ]] && pid1_alive "$pid1" "$(rec_get "$hd" pidns)" "$(rec_get "$hd" cgroup)"; then
      local sub
      for sub in "systemctl --failed" "systemctl list-jobs" "journalctl -n 40"; do
        echo "---- $sub ($name)"
        # shellcheck disable=SC2086 # word splitting wanted
        timeout 5 nsenter -t "$pid1" -m -u -i -n -p -C $sub --no-pager 2>&1
      done
    fi
    echo "---- console log of $name ($hd/console.log)"
    if [[ -f $hd/console.log ]]; then tail -n 100 "$hd/console.log"; fi
    echo "----"
  } >&2 || true
  exit 1
}

up_failed() {
  local rc=$1
  trap - EXIT HUP INT TERM
  trap '' PIPE
  if [[ ${UP_DONE:-0} == 1 ]]; then return 0; fi
  log "up failed (exit $rc); tearing down $UP_STATE"
  cmd_down "$UP_STATE" || true
  exit 1
}

# ---------------------------------------------------------------- down

cmd_down() {
  [[ $# -eq 1 ]] || die "usage: testbed.sh down STATE_DIR"
  [[ $EUID == 0 ]] || die "must run as root"
  local state t0
  state=$(resolve_state_dir "$1")
  t0=$(now)
  local prefix bridge
  prefix=$(conf_get "$state" prefix "$PREFIX")
  bridge=$(conf_get "$state" bridge "$BRIDGE")
  local -a hosts=()
  mapfile -t hosts < <(recorded_hosts "$state")
  local name hd pid1 pidns cg
  # 1. Kill every PID 1 first (in parallel the kernel tears the namespaces
  #    down), only if it is still the process we started.
  for name in "${hosts[@]+"${hosts[@]}"}"; do
    hd=$state/hosts/$name
    pid1=$(rec_get "$hd" pid1) pidns=$(rec_get "$hd" pidns) cg=$(rec_get "$hd" cgroup)
    if [[ -n $pid1 ]] && pid1_alive "$pid1" "$pidns" "$cg"; then
      kill -KILL "$pid1" 2>/dev/null || true
    fi
  done
  # 2. Per host: wait for the launcher, cgroup.kill backstop, remove cgroup
  #    dirs, network.
  local lpid lstart i
  for name in "${hosts[@]+"${hosts[@]}"}"; do
    hd=$state/hosts/$name
    lpid=$(rec_get "$hd" launcher) lstart=$(rec_get "$hd" launcher-start) cg=$(rec_get "$hd" cgroup)
    for ((i = 0; i < 100; i++)); do
      launcher_alive "$lpid" "$lstart" || break
      sleep 0.05
    done
    if [[ -n $cg && -d $cg ]]; then
      # Only processes of this host are in its cgroup: `up` created it and
      # moved the launcher into it before anything else started.
      if [[ -s $cg/cgroup.procs || $(cat "$cg/cgroup.events" 2>/dev/null) == *"populated 1"* ]]; then
        echo 1 >"$cg/cgroup.kill" 2>/dev/null || true
      fi
      for ((i = 0; i < 100; i++)); do
        [[ $(cat "$cg/cgroup.events" 2>/dev/null) == *"populated 1"* ]] || break
        sleep 0.05
      done
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    fi
    local veth ns
    veth=$(rec_get "$hd" veth) ns=$(rec_get "$hd" netns)
    # Deleting the root end removes the pair at once (netns cleanup is async).
    if [[ -n $veth ]] && ip link show "$veth" >/dev/null 2>&1; then ip link del "$veth" || true; fi
    if [[ -n $ns && -e /run/netns/$ns ]]; then ip netns del "$ns" || true; fi
    local ip
    ip=$(rec_get "$hd" ip)
    if [[ -n $ip ]] && ip link show "$bridge" >/dev/null 2>&1; then
      ip neigh flush to "$ip" dev "$bridge" 2>/dev/null || true
    fi
  done
  # 3. Shared pieces.
  if ip link show "$bridge" >/dev/null 2>&1 && [[ -z $(fo_veths) ]]; then
    ip link del "$bridge" || true
  fi
  if [[ -f $state/netns-mount-created ]]; then
    if [[ -z $(ip netns list 2>/dev/null) ]]; then
      if mountpoint -q /run/netns; then umount -n /run/netns || true; fi
      if [[ $(cat "$state/netns-mount-created") == 0 ]]; then rmdir /run/netns 2>/dev/null || true; fi
      rm -f "$state/netns-mount-created"
    else
      log "note: /run/netns still holds other namespaces; leaving its mount in place"
    fi
  fi
  # 4. Verify.
  local -a problems=()
  for name in "${hosts[@]+"${hosts[@]}"}"; do
    hd=$state/hosts/$name
    local p0=${#problems[@]}
    pid1=$(rec_get "$hd" pid1) pidns=$(rec_get "$hd" pidns) cg=$(rec_get "$hd" cgroup)
    lpid=$(rec_get "$hd" launcher) lstart=$(rec_get "$hd" launcher-start)
    if [[ -n $pid1 ]] && pid1_alive "$pid1" "$pidns" "$cg"; then problems+=("host $name: PID 1 ($pid1) still alive"); fi
    if launcher_alive "$lpid" "$lstart"; then problems+=("host $name: launcher ($lpid) still alive"); fi
    if [[ -n $cg && -e $cg ]]; then problems+=("host $name: cgroup $cg still exists"); fi
    ns=$(rec_get "$hd" netns) veth=$(rec_get "$hd" veth)
    if [[ -n $ns && -e /run/netns/$ns ]]; then problems+=("host $name: netns $ns still exists"); fi
    if [[ -n $veth ]] && ip link show "$veth" >/dev/null 2>&1; then problems+=("host $name: link $veth still exists"); fi
    if ((${#problems[@]} == p0)); then
      local r
      for r in "${RECORDS[@]}"; do rm -f "$hd/$r"; done
    fi
  done
  # Machine-wide: any other netns with the prefix or fo-* veth must belong
  # to a live host of another testbed (processes in its netns); if not, it
  # leaked (e.g. from a killed run). Another testbed may be in the middle of
  # its own `down`, so give such leftovers a few seconds to go away.
  local -a global=()
  for ((i = 0; i < 15; i++)); do
    mapfile -t global < <(foreign_leftovers "$prefix")
    [[ ${#global[@]} -gt 0 ]] || break
    sleep 0.2
  done
  problems+=("${global[@]+"${global[@]}"}")
  if ((${#problems[@]} > 0)); then
    log "down: NOT CLEAN:"
    printf '  - %s\n' "${problems[@]}" >&2 || true
    exit 1
  fi
  say "down: ${#hosts[@]} host(s) removed in $(elapsed "$t0") s"
}

netns_in_use() { [[ -n $(ip netns pids "$1" 2>/dev/null) ]]; }

# Netns with PREFIX and fo-* veths that no live host uses (one per line);
# notes the ones that other testbeds' live hosts use.
foreign_leftovers() {
  local prefix=$1 x peer
  local -a others=()
  for x in $(ip netns list 2>/dev/null | awk -v p="$prefix" 'index($1, p) == 1 { print $1 }'); do
    if netns_in_use "$x"; then others+=("netns $x"); else echo "netns $x left (nothing runs in it)"; fi
  done
  for x in $(fo_veths); do
    peer=$(ip -o link show "$x" 2>/dev/null | sed -n 's/.* link-netns \([^ ]*\).*/\1/p')
    if [[ -n $peer ]] && netns_in_use "$peer"; then others+=("link $x"); else echo "link $x left (no live host behind it)"; fi
  done
  if ((${#others[@]} > 0)); then
    log "down: note: left alone, in use by other testbeds' live hosts: $(IFS=,; echo "${others[*]}")"
  fi
}

fo_veths() {
  ip -o link show type veth 2>/dev/null | awk -F': ' '{ split($2, a, "@"); if (a[1] ~ /^fo-/) print a[1] }'
}

# ---------------------------------------------------------------- others

cmd_exec() {
  [[ $# -ge 3 ]] || die "usage: testbed.sh exec STATE_DIR NAME CMD [ARGS...]"
  local state pid1
  state=$(resolve_state_dir "$1")
  pid1=$(host_pid1 "$state" "$2") || exit 125
  shift 2
  # -p forks CMD into the host's pid namespace: it dies with the host.
  exec nsenter -t "$pid1" -m -u -i -n -p -C -- "$@"
}

cmd_pid1() {
  [[ $# -eq 2 ]] || die "usage: testbed.sh pid1 STATE_DIR NAME"
  local state
  state=$(resolve_state_dir "$1")
  host_pid1 "$state" "$2"
}

cmd_link() {
  [[ $# -eq 3 && ($3 == up || $3 == down) ]] || die "usage: testbed.sh link STATE_DIR NAME down|up"
  local state veth
  state=$(resolve_state_dir "$1")
  veth=$(rec_get "$state/hosts/$2" veth)
  [[ -n $veth ]] || die "host $2 is not recorded as up in $state"
  ip link set "$veth" "$3"
}

usage() {
  sed -n '2,9p' "$SELF" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

main() {
  [[ $# -ge 1 ]] || usage
  local cmd=$1
  shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    exec) cmd_exec "$@" ;;
    pid1) cmd_pid1 "$@" ;;
    link) cmd_link "$@" ;;
    _init) host_init "$@" ;; # internal: PID 1 of a host
    -h | --help | help) usage ;;
    *) die "unknown command '$cmd' (up, down, exec, pid1, link)" ;;
  esac
}

main "$@"
