#!/usr/bin/env bash
# Makes a CA and one certificate per name, for mTLS between coordinator, agents and failoverctl.
#   deploy/make-certs.sh DIR [--server NAME...] [--client NAME...] [--coordinator NAME...]
#   e.g. deploy/make-certs.sh /etc/failover/tls --coordinator coordinator --client operator \
#          --server api cerebro panel
# DIR/ca.pem + DIR/ca.key (keep ca.key offline in production), DIR/NAME.pem + DIR/NAME.key.
# Each certificate has CN=NAME and subjectAltName DNS:NAME: agents are named by their host name
# in the coordinator config (the coordinator checks it), and the coordinator's name is what
# agents list in allowed_clients. Re-running adds missing names and keeps the existing CA.
#
# Profiles (extendedKeyUsage), so that a stolen key can only do what its owner does:
#   --server       agents: serverAuth only. An agent's key cannot act as a client: another
#                  agent (or the coordinator's TCP listener) refuses it at the TLS handshake.
#   --client       operators (failoverctl): clientAuth only; cannot serve as an agent.
#   --coordinator  the coordinator: clientAuth (it calls agents) and serverAuth (over TCP it
#                  serves failoverctl). Issue it only to the coordinator.
set -euo pipefail
usage() { echo "usage: $0 DIR [--server NAME...] [--client NAME...] [--coordinator NAME...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
dir=$1; shift
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=failover-ca" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi
usage_ext=""
names=()
for arg in "$@"; do
  case "$arg" in
    --server) usage_ext=serverAuth; continue;;
    --client) usage_ext=clientAuth; continue;;
    --coordinator) usage_ext=serverAuth,clientAuth; continue;;
    -*) echo "make-certs: unknown option '$arg'" >&2; usage;;
  esac
  case "$arg" in *[!A-Za-z0-9._-]*|"") echo "make-certs: bad name '$arg'" >&2; exit 2;; esac
  if [ -z "$usage_ext" ]; then
    echo "make-certs: say what '$arg' is first: --server (agents), --client (operators) or --coordinator" >&2
    exit 2
  fi
  names+=("$arg")
  [ -f "$dir/$arg.pem" ] && continue
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$arg" \
    -keyout "$dir/$arg.key" -out "$dir/$arg.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=%s\nkeyUsage=digitalSignature\n' "$arg" "$usage_ext" > "$dir/$arg.ext"
  openssl x509 -req -in "$dir/$arg.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/$arg.ext" -out "$dir/$arg.pem" 2>/dev/null
  rm -f "$dir/$arg.csr" "$dir/$arg.ext"
done
[ ${#names[@]} -gt 0 ] || usage
echo "certificates in $dir: ca.pem $(printf '%s.pem ' "${names[@]}")"
