#!/usr/bin/env bash
# Package.ManPagesRenderWithoutWarningsAndDocumentEveryFlag: BIN_DIR MAN_DIR
# Each page renders with groff without a warning, and every flag the binary's --help lists (for
# failoverctl: of every subcommand too) appears in its page, so the pages cannot drift.
set -euo pipefail
bin_dir=$1 man_dir=$2
for b in failoverctl failover-agent failover-coordinator; do
  [[ -x $bin_dir/$b ]] || { echo "$bin_dir/$b is missing: build it first" >&2; exit 1; }
done
fail=0
flags_of() { grep -oE '(^|[ ,])--[a-z][a-z0-9-]*' <<<"$1" | sed 's/^[ ,]//' | sort -u; }
check() {  # page, help text
  local page=$1 help=$2 text
  text=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$page")
  for f in $(flags_of "$help"); do
    [[ $f == --help ]] && continue
    grep -qF -- "$f" <<<"$text" || { echo "$page does not document $f" >&2; fail=1; }
  done
}
for page in "$man_dir"/*.[18]; do
  warnings=$(groff -man -ww -z "$page" 2>&1) || true
  [[ -z $warnings ]] || { echo "$page: groff warnings: $warnings" >&2; fail=1; }
done
check "$man_dir/failover-agent.8" "$("$bin_dir/failover-agent" --help)"
check "$man_dir/failover-coordinator.8" "$("$bin_dir/failover-coordinator" --help)"
top=$("$bin_dir/failoverctl" --help)
check "$man_dir/failoverctl.1" "$top"
for sub in $(sed -n '/^Subcommands:/,/^$/p' <<<"$top" | awk 'NR > 1 && NF { print $1 }'); do
  grep -qE "^\.(B|BI) $sub( |$)" "$man_dir/failoverctl.1" || { echo "failoverctl.1 has no entry for subcommand $sub" >&2; fail=1; }
  check "$man_dir/failoverctl.1" "$("$bin_dir/failoverctl" "$sub" --help)"
done
[[ $fail == 0 ]] && echo "ok: pages render cleanly and document every flag"
exit $fail
