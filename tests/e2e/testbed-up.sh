#!/usr/bin/env bash
# ctest fixture: the SLS test bed (api, cerebro, panel) up, with every agent answering.
set -euo pipefail
state=$1
here=$(cd "$(dirname "$0")" && pwd)
tb=$here/../testbed
bash "$tb/testbed.sh" down "$state" >/dev/null 2>&1 || true
rm -rf "$state"
bash "$tb/sls-payload.sh" "$state" >/dev/null
bash "$tb/testbed.sh" up "$state" api:11 cerebro:12 panel:13
bash "$tb/wait-agents.sh" "$state" api:11 cerebro:12 panel:13
