#!/usr/bin/env bash
# Makes a CA and one certificate per name, for mTLS between coordinator, agents and failoverctl.
#   deploy/make-certs.sh DIR NAME [NAME ...]
# DIR/ca.pem + DIR/ca.key (keep ca.key offline in production), DIR/NAME.pem + DIR/NAME.key.
# Each certificate has CN=NAME and subjectAltName DNS:NAME: agents are named by their host name
# in the coordinator config (the coordinator checks it), and the coordinator's name is what
# agents list in allowed_clients. Re-running adds missing names and keeps the existing CA.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR NAME [NAME ...]" >&2; exit 2; }
dir=$1; shift
mkdir -p "$dir"
chmod 700 "$dir"
umask 077
if [ ! -f "$dir/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj "/CN=failover-ca" -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
fi
for name in "$@"; do
  case "$name" in *[!A-Za-z0-9._-]*|"") echo "make-certs: bad name '$name'" >&2; exit 2;; esac
  [ -f "$dir/$name.pem" ] && continue
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$dir/$name.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$name" > "$dir/$name.ext"
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/$name.ext" -out "$dir/$name.pem" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
done
echo "certificates in $dir: ca.pem $(printf '%s.pem ' "$@")"
