#!/usr/bin/env python3
"""Stand-in for an SLS service in the test hosts (python3 stdlib only).

  fake-service.py --name NAME --port PORT [--bind ADDR] [--control-dir DIR]
                  [--token-file FILE] [--token-env VAR]

HTTP: GET /health -> 200 {"status":"ok","name":NAME,"pid":PID}; GET / -> 200 text;
GET /metrics -> Prometheus text: sls_up{service="NAME"} 1, or 0 while /health would not
answer 2xx (health-status, health-hang) — what the test bed's Prometheus scrapes (no token).
With a token (file content stripped, or env var), requests without
"Authorization: Bearer <token>" get 401.

systemd Type=notify: sends READY=1 to $NOTIFY_SOCKET once the socket is bound.

Behaviour switches, read from the control dir at start / on every request so
tests can flip them without restarting:
  NAME.fail-start      exit 3 at startup, before READY
  NAME.start-delay-ms  sleep that many ms before binding
  NAME.health-status   /health answers this HTTP status
  NAME.health-hang     /health never answers (until the client goes away)
  NAME.unhealthy-until-restart  /health answers 503 while this file is newer than the
                       process (written after it started): a restart heals it
  NAME.health-body     /health answers this file's content as its body (e.g. {"status":"degraded"})
  NAME.health-endless  /health answers 200 and a body that never ends (until the client goes away)
  NAME.crash-after-ready  exit 1 about 300 ms after READY=1 (a crash loop after start
                       when the unit has Restart=on-failure)

SIGTERM -> exit 0 at once.
"""

import argparse
import hmac
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STARTED_AT = time.time()
HANG_LIMIT_S = 600  # a hung /health thread gives up eventually anyway


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def sd_notify(message):
    """Send a datagram to $NOTIFY_SOCKET (path or '@abstract'); no-op if unset."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
        s.connect(addr)
        s.sendall(message.encode())


class Control:
    """Reads NAME.* switch files from the control dir (absent dir = no switches)."""

    def __init__(self, directory, name):
        self.directory = directory
        self.name = name

    def path(self, suffix):
        if not self.directory:
            return None
        return os.path.join(self.directory, f"{self.name}.{suffix}")

    def exists(self, suffix):
        p = self.path(suffix)
        return p is not None and os.path.exists(p)

    def newer_than(self, suffix, t):
        p = self.path(suffix)
        try:
            return p is not None and os.path.getmtime(p) >= t
        except OSError:
            return False

    def number(self, suffix):
        p = self.path(suffix)
        if p is None:
            return None
        try:
            with open(p) as f:
                text = f.read().strip()
        except FileNotFoundError:
            return None
        try:
            return int(text)
        except ValueError:
            log(f"{self.name}: ignoring {p}: not a number: {text!r}")
            return None


def make_handler(name, control, token):
    class Handler(BaseHTTPRequestHandler):
        server_version = "fake-service/1"

        def log_message(self, fmt, *args):  # one line per request, no headers
            pass

        def log_request(self, code="-", size="-"):
            log(f'{name}: {self.client_address[0]} "{self.command} {self.path}" {code}')

        def send_body(self, status, body, ctype):
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def authorized(self):
            if token is None:
                return True
            got = self.headers.get("Authorization", "")
            return hmac.compare_digest(got.encode(), f"Bearer {token}".encode())

        def hang_until_client_leaves(self):
            deadline = time.monotonic() + HANG_LIMIT_S
            conn = self.connection
            while time.monotonic() < deadline:
                readable, _, _ = select.select([conn], [], [], 0.5)
                if readable:
                    try:
                        if not conn.recv(1, socket.MSG_PEEK):
                            break  # client closed
                    except OSError:
                        break
                    time.sleep(0.5)  # client sent more data; keep hanging
            log(f'{name}: {self.client_address[0]} "{self.command} {self.path}" hung')
            self.close_connection = True

        def stream_forever(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            deadline = time.monotonic() + HANG_LIMIT_S
            chunk = b'{"status":"ok","padding":"' + b"x" * 4096
            try:
                while time.monotonic() < deadline:
                    self.wfile.write(chunk)
                    time.sleep(0.001)
            except OSError:
                pass  # the client went away
            self.close_connection = True

        def metrics(self):
            status = control.number("health-status") or 200
            up = 1 if 200 <= status < 300 and not control.exists("health-hang") else 0
            self.send_body(200, f'# TYPE sls_up gauge\nsls_up{{service="{name}"}} {up}\n',
                           "text/plain; version=0.0.4")

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self.metrics()
                return
            if not self.authorized():
                self.send_body(401, '{"error":"unauthorized"}\n', "application/json")
                return
            if path == "/health":
                if control.exists("health-hang"):
                    self.hang_until_client_leaves()
                    return
                if control.exists("health-endless"):
                    self.stream_forever()
                    return
                status = control.number("health-status") or 200
                if control.newer_than("unhealthy-until-restart", STARTED_AT):
                    status = 503
                body = {"status": "ok" if 200 <= status < 300 else "error",
                        "name": name, "pid": os.getpid()}
                text = json.dumps(body) + "\n"
                if control.exists("health-body"):
                    with open(control.path("health-body")) as f:
                        text = f.read()
                self.send_body(status, text, "application/json")
            elif path == "/":
                self.send_body(200, f"{name}: fake SLS service\n", "text/plain")
            else:
                self.send_body(404, "not found\n", "text/plain")

        do_HEAD = do_GET

    return Handler


def read_token(args):
    if args.token_file:
        try:
            with open(args.token_file) as f:
                tok = f.read().strip()
        except OSError as e:
            log(f"{args.name}: cannot read token file {args.token_file}: {e.strerror}")
            sys.exit(2)
        if not tok:
            log(f"{args.name}: token file {args.token_file} is empty")
            sys.exit(2)
        return tok
    if args.token_env:
        tok = os.environ.get(args.token_env, "").strip()
        if not tok:
            log(f"{args.name}: environment variable {args.token_env} is unset or empty")
            sys.exit(2)
        return tok
    return None


def main():
    ap = argparse.ArgumentParser(description="Fake SLS service for the test bed.")
    ap.add_argument("--name", required=True)
    ap.add_argument("--port", required=True, type=int)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--control-dir")
    ap.add_argument("--token-file")
    ap.add_argument("--token-env")
    args = ap.parse_args()

    # SIGTERM: leave now, whatever threads are doing (hung /health included).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    control = Control(args.control_dir, args.name)
    if control.exists("fail-start"):
        log(f"{args.name}: refusing to start: {control.path('fail-start')} exists")
        sys.exit(3)
    delay = control.number("start-delay-ms")
    if delay and delay > 0:
        time.sleep(delay / 1000.0)
    token = read_token(args)

    class Server(ThreadingHTTPServer):
        allow_reuse_address = True  # restart right after a stop (TIME_WAIT)
        daemon_threads = True  # hung /health threads never block exit
        address_family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET

    try:
        server = Server((args.bind, args.port), make_handler(args.name, control, token))
    except OSError as e:
        log(f"{args.name}: cannot listen on {args.bind}:{args.port}: {e.strerror}")
        sys.exit(1)
    port = server.server_address[1]
    sd_notify(f"READY=1\nSTATUS=listening on {args.bind}:{port}\n")
    log(f"{args.name}: listening on {args.bind}:{port} (pid {os.getpid()})")
    if control.exists("crash-after-ready"):
        def crash():
            time.sleep(0.3)
            log(f"{args.name}: crashing after READY: {control.path('crash-after-ready')} exists")
            os._exit(1)
        threading.Thread(target=crash, daemon=True).start()
    server.serve_forever(poll_interval=0.5)


if __name__ == "__main__":
    main()
