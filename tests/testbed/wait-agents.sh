#!/usr/bin/env bash
# Waits until every host's agent listens and its SLS units are active (timeout 30 s).
set -euo pipefail
state=$1; shift
here=$(cd "$(dirname "$0")" && pwd)
deadline=$((SECONDS + 30))
for spec in "$@"; do
  host=${spec%%:*} n=${spec#*:}
  until (exec 3<>/dev/tcp/10.77.0.$n/7700) 2>/dev/null; do
    if [ $SECONDS -ge $deadline ]; then
      echo "wait-agents: agent on $host (10.77.0.$n:7700) did not come up" >&2
      bash "$here/testbed.sh" exec "$state" "$host" systemctl status failover-agent --no-pager >&2 || true
      exit 1
    fi
    sleep 0.1
  done
  while read -r unit; do
    [ -n "$unit" ] || continue
    until [ "$(bash "$here/testbed.sh" exec "$state" "$host" systemctl is-active "$unit" 2>/dev/null)" = active ]; do
      if [ $SECONDS -ge $deadline ]; then
        echo "wait-agents: $unit on $host is not active" >&2
        bash "$here/testbed.sh" exec "$state" "$host" systemctl status "$unit" --no-pager >&2 || true
        exit 1
      fi
      sleep 0.1
    done
  done < "$state/hosts/$host/boot-units"
done
echo "agents up: $*"
