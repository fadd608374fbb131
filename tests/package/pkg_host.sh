#!/usr/bin/env bash
# Shared by the package e2e tests (sourced; needs repo, build, version set): a test host "pkgh"
# (10.77.0.20, real systemd, copy-on-write /usr /etc /var/lib/dpkg) with a stand-in sls-bot,
# the .deb installed by dpkg -i and configured as an operator would (certificates with the
# shipped make-certs.sh, /etc/failover/agent.yaml, the packaged agent unit running).
# The EXIT trap stops what was started here and tears the host down, also on failure.
deb=$build/package/failover_${version}_amd64.deb
[[ -f $deb ]] || { echo "no $deb (the Package.Deb… test builds it)" >&2; exit 1; }
state=$build/pkg-testbed-${PKG_TEST:-install}
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
# The failover config of the package tests: sls-bot on the test host with its health probe.
# $1: the dir of the coordinator's ca.pem/coordinator.pem/coordinator.key; $2: the probe's deadline_ms.
sls_yaml() {
  local tls=$1 deadline_ms=$2
  cat <<YAML
defaults: {job_timeout_ms: 10000, lease_ms: 30000, call_timeout_ms: 3000}
hosts:
  $host: {agent: "$ip:7700", units: [sls-bot.service]}
services:
  - name: sls-bot
    probes:
      - {name: bot-health, http: {url: "http://127.0.0.1:8081/health"}, timeout_ms: 1000, deadline_ms: $deadline_ms}
order: [sls-bot]
tls: {ca: $tls/ca.pem, cert: $tls/coordinator.pem, key: $tls/coordinator.key}
YAML
}

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

