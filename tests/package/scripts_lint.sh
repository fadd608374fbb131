#!/usr/bin/env bash
# Package.MaintainerScriptsAndCompletionPassShellcheck: SOURCE_DIR
set -euo pipefail
src=$1
shellcheck -s sh "$src"/deploy/debian/postinst "$src"/deploy/debian/prerm "$src"/deploy/debian/postrm
shellcheck -s bash "$src"/deploy/failoverctl.bash-completion "$src"/deploy/make-certs.sh
echo "ok: shellcheck clean"
