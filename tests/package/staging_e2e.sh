#!/usr/bin/env bash
# PackageE2E.TheStagingSweepServiceRunsAFailoverAndItsExitStatusReachesSystemd: REPO BUILD_DIR VERSION
# In a test host with the .deb installed (pkg_host.sh): the packaged coordinator unit runs with
# the staging config as its own, the packaged failover-staging.timer is active with a next
# elapse, and its service, triggered by hand (not by waiting a week), runs an executed failover
# whose reports (Markdown, JUnit) appear and whose exit status is the unit's result: success
# first, then exit-code 1 with a failing JUnit when the unit under test cannot start.
set -euo pipefail
repo=$1 build=$2 version=$3
PKG_TEST=staging
# shellcheck source=tests/package/pkg_host.sh
source "$(dirname "$0")/pkg_host.sh"

# The coordinator runs as the `failover` user: it reads its client certificate through the group.
for f in ca.pem coordinator.pem coordinator.key; do
  in_host chgrp failover "/etc/failover/tls/$f"
  in_host chmod 0640 "/etc/failover/tls/$f"
done
in_host chgrp failover /etc/failover/tls
in_host chmod 0750 /etc/failover/tls
sls_yaml /etc/failover/tls 5000 | in_host sh -c "cat > /etc/failover/sls.yaml"
for u in failover-coordinator.service failover-staging.service failover-staging.timer; do
  in_host ln -s "/lib/systemd/system/$u" "/run/systemd/system/$u"
done
in_host systemctl daemon-reload
in_host systemctl start failover-coordinator.service
for _ in $(seq 100); do in_host test -S /run/failover/coordinator.sock && break; sleep 0.05; done
in_host test -S /run/failover/coordinator.sock || { in_host journalctl -u failover-coordinator --no-pager >&2; fail "no coordinator socket"; }
in_host systemctl start failover-staging.timer
[[ -n $(in_host systemctl show -P NextElapseUSecRealtime failover-staging.timer) ]] || fail "the timer has no next elapse"

sweep() {  # runs the timer's service once; prints Result and ExecMainStatus
  in_host systemctl start failover-staging.service >/dev/null 2>&1 || true
  echo "$(in_host systemctl show -P Result failover-staging.service) $(in_host systemctl show -P ExecMainStatus failover-staging.service)"
}
latest_junit() { in_host sh -c 'ls -t /var/log/failover/tmp_logs/*.junit.xml | head -1'; }

before=$(in_host systemctl show -P ActiveEnterTimestampMonotonic sls-bot.service)
[[ $(sweep) == "success 0" ]] || { in_host journalctl -u failover-staging --no-pager >&2; fail "the sweep did not succeed"; }
after=$(in_host systemctl show -P ActiveEnterTimestampMonotonic sls-bot.service)
(( after > before )) || fail "the sweep did not restart sls-bot"
junit=$(latest_junit)
in_host test -s "${junit%.junit.xml}.md" || fail "no Markdown report beside $junit"
in_host grep -q 'failures="0"' "$junit" || fail "the JUnit report of a good sweep has failures"

# A sweep that fails: sls-bot cannot start. The unit's result says so; so does the JUnit report.
touch "$state/control/sls-bot.fail-start"
result=$(sweep)
rm -f "$state/control/sls-bot.fail-start"
[[ $result == "exit-code 1" ]] || fail "a failed sweep ended '$result', want 'exit-code 1'"
junit2=$(latest_junit)
[[ $junit2 != "$junit" ]] || fail "the failed sweep wrote no new report"
in_host grep -qE 'failures="[1-9]' "$junit2" || fail "the JUnit report of a failed sweep has no failure"
in_host systemctl start sls-bot.service   # as the operator would after the failed sweep
in_host systemctl stop failover-staging.timer failover-coordinator.service failover-agent.service
echo "ok: timer scheduled; sweep 'success 0' restarted sls-bot and wrote md+junit; failing sweep '$result' reached systemd"
