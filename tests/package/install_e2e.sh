#!/usr/bin/env bash
# PackageE2E.TheDebInstalledInATestHostRunsAFailoverWithItsOwnAgent: REPO BUILD_DIR VERSION
# A test host installs the .deb built by Package.Deb… with dpkg -i (pkg_host.sh); a coordinator on
# this machine runs an executed failover of a unit on that host through the packaged agent. Then
# dpkg --purge stops the agent (prerm) and removes the files and /etc/failover.
set -euo pipefail
repo=$1 build=$2 version=$3
PKG_TEST=install
# shellcheck source=tests/package/pkg_host.sh
source "$(dirname "$0")/pkg_host.sh"

{ sls_yaml "$state/tls" 10000; echo "reports_dir: $state/reports"; } >"$state/sls.yaml"
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
