#!/usr/bin/env python3
"""failoverctl against a unix socket nothing serves: it says so at once, naming the socket and why,
and exits 1 (the coordinator is unreachable: not a usage error); a socket that accepts connections
is left to gRPC (it still ends with exit 1 and the gRPC error when no coordinator answers there).
Usage: unreachable_coordinator.py FAILOVERCTL"""
import os, shutil, socket, subprocess, sys, tempfile, threading

ctl = sys.argv[1]
# Under /tmp, not the build directory: a unix socket's path must fit in 108 bytes.
work = tempfile.mkdtemp(prefix="failoverctl-unreachable-", dir="/tmp")
failed = []


def plan(sock_path):
    p = subprocess.run([ctl, "--coordinator", "unix:" + sock_path, "plan"], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stderr


def expect(case, rc, err, want_rc, *needles):
    ok = rc == want_rc and all(n in err for n in needles)
    print(f"{'ok' if ok else 'FAILED'}: {case}: exit {rc}, stderr: {err.strip()}")
    if not ok:
        failed.append(f"{case}: wanted exit {want_rc} and {needles}")


missing = os.path.join(work, "missing.sock")
rc, err = plan(missing)
# "connect to PATH: why" is failoverctl's own check (gRPC would say "failed to connect to all addresses").
expect("no socket file", rc, err, 1, f"cannot reach the coordinator at unix:{missing}: connect to {missing}: "
       "No such file or directory", "is failover-coordinator running")

# Bound but not listening (what a crashed coordinator's socket file looks like): ECONNREFUSED.
stale = os.path.join(work, "stale.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(stale)
rc, err = plan(stale)
s.close()
expect("a socket file nothing listens on", rc, err, 1, f"connect to {stale}: Connection refused")

# Something accepts and hangs up at once (not a coordinator): past the check, gRPC's own error.
odd = os.path.join(work, "odd.sock")
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(odd)
srv.listen(16)
accepted = []


def serve():
    srv.settimeout(0.2)
    while len(accepted) < 100:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            if done.is_set():
                return
            continue
        except OSError:
            return
        accepted.append(1)
        c.close()


done = threading.Event()
t = threading.Thread(target=serve)
t.start()
rc, err = plan(odd)
done.set()
t.join()
srv.close()
expect("a socket that accepts, then hangs up", rc, err, 1, "plan: cannot reach the coordinator at unix:" + odd)
if f"connect to {odd}:" in err:
    failed.append("a socket that accepts: failoverctl's own check refused it")
if len(accepted) < 2:
    failed.append(f"a socket that accepts: gRPC was not left to try it ({len(accepted)} connection(s))")

shutil.rmtree(work, ignore_errors=True)
if failed:
    print("\n".join(failed))
    sys.exit(1)
