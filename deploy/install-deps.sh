#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the demo need.
# Idempotent: does nothing when all packages are already present.
set -euo pipefail
packages=(
  build-essential cmake pkg-config make
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev
  libsdbus-c++-dev libsystemd-dev
  libyaml-cpp-dev libcli11-dev libcurl4-openssl-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev
  systemd dbus iproute2 util-linux python3 openssl curl
  zlib1g-dev libxml2-utils chromium
  dpkg-dev file groff-base shellcheck yamllint python3-yaml tzdata
  prometheus restic
  libsqlite3-dev
  prometheus-cpp-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian's prometheus package enables and starts its own server on :9090, scraping nothing of
# ours; the e2e tests start their own (gates_e2e_test.cc). Turn the packaged one off, once, here.
if [[ " ${missing[*]} " == *" prometheus "* ]] && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl disable --now prometheus
fi
