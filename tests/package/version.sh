#!/usr/bin/env bash
# Package.EveryBinaryPrintsTheProjectVersion: BIN_DIR VERSION
set -euo pipefail
bin_dir=$1 version=$2
for b in failoverctl failover-agent failover-coordinator; do
  out=$("$bin_dir/$b" --version) || { echo "$b --version exited $?" >&2; exit 1; }
  [[ $out == "$b $version" ]] || { echo "$b --version printed '$out', want '$b $version'" >&2; exit 1; }
done
echo "ok: all three print $version"
