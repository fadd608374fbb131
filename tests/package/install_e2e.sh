#!/usr/bin/env bash
# PackageE2E.TheDebInstalledInATestHostRunsAFailoverWithItsOwnAgent: REPO BUILD_DIR VERSION
# A test host (real systemd, copy-on-write /usr and /etc) installs the .deb built by
# Package.DebBuilds... with dpkg -i; its postinst makes the failover group and /etc/failover; the
# packaged agent unit runs the installed /usr/bin/failover-agent; a coordinator on this machine
# runs an executed failover of a unit on that host through it. Then dpkg --purge removes it all.
set -euo pipefail
repo=$1 build=$2 version=$3
deb=$build/package/failover_${version}_amd64.deb
[[ -f $deb ]] || { echo "no $deb (the Package.Deb… test builds it)" >&2; exit 1; }
state=$build/pkg-testbed
tb=$repo/tests/testbed/testbed.sh
host=pkgh ip=10.77.0.20
coord_pid=""
cleanup() {
  local rc=$?
  [[ -n $coord_pid ]] && kill "$coord_pid" 2>/dev/null && wait "$coord_pid" 2>/dev/null
  FO_NS_PREFIX=fp- bash "$tb" down "$state" >/dev/null 2>&1 || { echo "testbed down failed" >&2; rc=1; }
  exit $rc
}
trap cleanup EXIT
in_host() { FO_NS_PREFIX=fp- bash "$tb" exec "$state" "$host" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

FO_NS_PREFIX=fp- bash "$tb" down "$state" >/dev/null 2>&1 || true
rm -rf "$state"; mkdir -p "$state/hosts/$host/units" "$state/control" "$state/tls"
touch "$state/hosts/$host/overlay-root"
cat >"$state/hosts/$host/units/sls-bot.service" <<UNIT
[Unit]
Description=SLS bot (test stand-in on $host)
StartLimitIntervalSec=0
[Service]
Type=notify
NotifyAccess=main
ExecStart=/usr/bin/python3 $repo/tests/testbed/fake-service.py --name sls-bot --port 8081 --control-dir $state/control
UNIT
echo sls-bot.service >"$state/hosts/$host/boot-units"
FO_NS_PREFIX=fp- bash "$tb" up "$state" "$host:20" >/dev/null

# Install: dpkg -i inside the host only (its /usr, /etc and dpkg database are copy-on-write).
in_host dpkg -i "$deb" >"$state/dpkg.log" 2>&1 || { cat "$state/dpkg.log" >&2; fail "dpkg -i failed"; }
[[ $(in_host /usr/bin/failover-agent --version) == "failover-agent $version" ]] || fail "installed agent version"
[[ ! -e /usr/bin/failover-agent ]] || [[ $(stat -c %i /usr/bin/failover-agent) != "$(in_host stat -c %i /usr/bin/failover-agent)" ]] \
  || fail "the host's install reached this machine"
in_host getent group failover >/dev/null || fail "postinst made no failover group"
in_host getent passwd failover >/dev/null || fail "postinst made no failover user"
[[ $(in_host stat -c '%a %U %G' /etc/failover) == "750 root failover" ]] || fail "/etc/failover is $(in_host stat -c '%a %U %G' /etc/failover)"

# Configure it as an operator would: certificates with the shipped helper, the agent config.
in_host bash /usr/share/failover/make-certs.sh /etc/failover/tls --coordinator coordinator --server "$host" >/dev/null
for f in ca.pem coordinator.pem coordinator.key; do in_host cat "/etc/failover/tls/$f" >"$state/tls/$f"; done
chmod 600 "$state/tls/coordinator.key"
in_host sh -c "cat > /etc/failover/agent.yaml" <<YAML
host: $host
listen: $ip:7700
allow_units: ["sls-*.service"]
tls: {ca: /etc/failover/tls/ca.pem, cert: /etc/failover/tls/$host.pem, key: /etc/failover/tls/$host.key}
allowed_clients: [coordinator]
audit_log: /var/log/failover-agent/audit.log
state_dir: /run/failover-agent
YAML
# The test host's systemd reads units only from /run/systemd/system: link the packaged unit there.
in_host ln -s /lib/systemd/system/failover-agent.service /run/systemd/system/failover-agent.service
in_host systemctl daemon-reload
in_host systemctl start failover-agent.service
[[ $(in_host systemctl show -P ExecStart failover-agent.service) == *"path=/usr/bin/failover-agent"* ]] \
  || fail "the running agent is not the packaged one"

cat >"$state/sls.yaml" <<YAML
defaults: {job_timeout_ms: 10000, lease_ms: 30000, call_timeout_ms: 3000}
hosts:
  $host: {agent: "$ip:7700", units: [sls-bot.service]}
services:
  - name: sls-bot
    probes:
      - {name: bot-health, http: {url: "http://127.0.0.1:8081/health"}, timeout_ms: 1000, deadline_ms: 10000}
order: [sls-bot]
tls: {ca: $state/tls/ca.pem, cert: $state/tls/coordinator.pem, key: $state/tls/coordinator.key}
reports_dir: $state/reports
YAML
"$build/bin/failover-coordinator" --config "$state/sls.yaml" --listen "unix:$state/c.sock" \
  --state-dir "$state/journal" >"$state/coordinator.log" 2>&1 &
coord_pid=$!
for _ in $(seq 100); do [[ -S $state/c.sock ]] && break; sleep 0.05; done
before=$(in_host systemctl show -P ActiveEnterTimestampMonotonic sls-bot.service)
ctl() { "$build/bin/failoverctl" --coordinator "unix:$state/c.sock" "$@"; }
ctl run --execute >"$state/run.out" 2>&1 || { cat "$state/run.out" "$state/coordinator.log" >&2; fail "executed run failed"; }
after=$(in_host systemctl show -P ActiveEnterTimestampMonotonic sls-bot.service)
(( after > before )) || fail "sls-bot was not restarted ($before -> $after)"
[[ $(in_host systemctl is-active sls-bot.service) == active ]] || fail "sls-bot not active after the run"
in_host grep -q sls-bot.service /var/log/failover-agent/audit.log || fail "the packaged agent audited nothing"

# Purge: the stop in prerm, the files and /etc/failover gone.
in_host dpkg --purge failover >"$state/dpkg-purge.log" 2>&1 || { cat "$state/dpkg-purge.log" >&2; fail "dpkg --purge failed"; }
[[ $(in_host systemctl is-active failover-agent.service || true) != active ]] || fail "prerm left the agent running"
in_host rm -f /run/systemd/system/failover-agent.service
in_host test ! -e /usr/bin/failover-agent || fail "purge left /usr/bin/failover-agent"
in_host test ! -e /etc/failover || fail "purge left /etc/failover"
echo "ok: installed, ran an executed failover through the packaged agent ($(grep -m1 -o 'succeeded[^"]*' "$state/run.out" || true)), purged"
