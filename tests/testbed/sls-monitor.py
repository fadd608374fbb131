#!/usr/bin/env python3
"""The test bed's stand-in for the SLS monitor guard (sls-monitor.service, run by its timer): GET
the panel's /health with the panel token; exit 0 when it answers 2xx. Like a real monitor it pages
only for an outage, not for a blip: it retries for about 1.6 s (5 attempts, 0.4 s apart) before it
fails — so a planned restart of the panel (~0.1-0.3 s down) is not an incident, while a panel that
stays unhealthy makes the run fail (exit 1), which the failover's monitor guard must report."""
import argparse
import sys
import time
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("--url", required=True)
p.add_argument("--token-file", required=True)
args = p.parse_args()
token = open(args.token_file).read().strip()
last = None
for attempt in range(5):
    try:
        urllib.request.urlopen(urllib.request.Request(args.url, headers={"Authorization": "Bearer " + token}),
                               timeout=2)
        sys.exit(0)
    except Exception as e:  # HTTP error, refused, timeout: try again, then fail
        last = e
        if attempt < 4:
            time.sleep(0.4)
print(f"panel unhealthy for ~1.6 s: {last}", file=sys.stderr)
sys.exit(1)
