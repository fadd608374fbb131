#!/usr/bin/env bash
# Package.DebBuildsWithBinariesUnitsDocsAndMaintainerScripts: BUILD_DIR VERSION
# Builds the .deb with CPack (as `make package` does) and checks what it holds.
set -euo pipefail
build=$1 version=$2
out=$build/package
rm -rf "$out"; mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; exit 1; }
deb=$out/failover_${version}_amd64.deb
[[ -f $deb ]] || { echo "no $deb after cpack; got: $(ls "$out")" >&2; exit 1; }
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#')
fail=0
for f in /usr/bin/failoverctl /usr/bin/failover-agent /usr/bin/failover-coordinator \
         /lib/systemd/system/failover-agent.service /lib/systemd/system/failover-coordinator.service \
         /lib/systemd/system/failover-staging.service /lib/systemd/system/failover-staging.timer \
         /usr/share/doc/failover/examples/sls.example.yaml /usr/share/doc/failover/examples/agent.example.yaml \
         /usr/share/failover/make-certs.sh /usr/share/man/man1/failoverctl.1 \
         /usr/share/man/man8/failover-agent.8 /usr/share/man/man8/failover-coordinator.8 \
         /usr/share/bash-completion/completions/failoverctl; do
  grep -qx -- "$f" <<<"$contents" || { echo "$deb lacks $f" >&2; fail=1; }
done
if grep -E '^/usr/local|unit_tests|/include/' <<<"$contents"; then echo "$deb holds files it should not (above)" >&2; fail=1; fi
info=$(dpkg-deb -I "$deb")
for field in "Package: failover" "Version: $version" "Architecture: amd64"; do
  grep -q "^ $field" <<<"$info" || { echo "control lacks '$field'" >&2; fail=1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for dep in libsdbus-c++ libssl3 libcurl4 systemd; do
  grep -q "$dep" <<<"$depends" || { echo "Depends lacks $dep: $depends" >&2; fail=1; }
done
# gRPC and protobuf are in the binaries (FAILOVER_DAEMONS_STATIC_GRPC) or, built without their
# static archives, loaded shared: then the package must depend on them.
needed=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/bin/failover-agent > "$out/agent.bin" && readelf -d "$out/agent.bin")
for lib in grpc++ protobuf; do
  if grep -q "NEEDED.*lib$lib" <<<"$needed"; then
    grep -q "lib$lib" <<<"$depends" || { echo "the agent loads lib$lib but Depends lacks it: $depends" >&2; fail=1; }
  fi
done
for s in postinst prerm postrm; do
  dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -qx "./$s" || { echo "control lacks $s" >&2; fail=1; }
done
exec_start=$(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./lib/systemd/system/failover-agent.service | grep '^ExecStart=')
[[ $exec_start == "ExecStart=/usr/bin/failover-agent "* ]] || { echo "agent unit starts '$exec_start', not /usr/bin" >&2; fail=1; }
[[ $fail == 0 ]] && echo "ok: $deb ($(du -k "$deb" | cut -f1) KiB)"
exit $fail
