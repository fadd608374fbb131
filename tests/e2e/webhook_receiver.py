#!/usr/bin/env python3
"""A webhook receiver for the notification e2e tests: records every POST as a JSON line
{"t": unix seconds, "path": ..., "headers": {...}, "body": ...} in --out; answers 503 to the
first --fail-first requests (to prove retries), 200 after; a POST to /hang is never answered
(the sender's timeout must handle it). Threaded, so a hanging request blocks nothing else."""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = None
lock = threading.Lock()
count = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        global count
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(min(n, 1 << 20)).decode("utf-8", "replace")
        if self.path == "/hang":
            time.sleep(60)
            return
        with lock:
            count += 1
            status = 503 if count <= args.fail_first else 200
            with open(args.out, "a") as f:
                f.write(json.dumps({"t": time.time(), "path": self.path, "status": status,
                                    "headers": dict(self.headers), "body": body}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--fail-first", type=int, default=0)
    args = p.parse_args()
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
