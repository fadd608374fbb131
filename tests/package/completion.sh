#!/usr/bin/env bash
# Package.BashCompletionOffersSubcommandsAndTheirFlags: BIN_DIR COMPLETION_FILE
set -euo pipefail
bin_dir=$1
# shellcheck source=/dev/null
source "$2"
complete_words() {  # words...: completes the last word as bash would, prints COMPREPLY
  COMP_WORDS=("$bin_dir/failoverctl" "$@"); COMP_CWORD=$#; COMPREPLY=()
  _failoverctl; printf '%s\n' "${COMPREPLY[@]}"
}
expect() {  # description, wanted word, words...
  local what=$1 want=$2; shift 2
  # grep -q would stop reading at the first match: printf then dies of SIGPIPE and pipefail fails the test.
  complete_words "$@" | grep -x -- "$want" > /dev/null || { echo "completion of '$*' lacks $want ($what): $(complete_words "$@" | tr '\n' ' ')" >&2; exit 1; }
}
expect "subcommand" run ru
expect "subcommand" report re
expect "run flag" --execute run --ex
expect "run flag" --services run --serv
expect "global flag" --coordinator --coo
expect "report formats" junit report -o j
expect "modes" stop-all run --mode st
[[ -z $(complete_words run --nosuchflag) ]] || { echo "an unknown flag prefix completed to something" >&2; exit 1; }
complete -p failoverctl | grep -q _failoverctl
echo "ok: subcommands, flags and values complete"
