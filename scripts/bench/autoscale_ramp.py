#!/usr/bin/env python3
"""Load ramp against a modelgate managed pool: prints, once a second, the number of client
threads, the replicas the autoscaler wants and has ready (from the admin /metrics), requests
completed and failed in that second.

  autoscale_ramp.py --proxy 127.0.0.1:PORT --admin 127.0.0.1:PORT [--steps 0:5,4:10,12:15,4:10,0:15]

Each step is CLIENTS:SECONDS. A client loops POST /v1/completions (max_tokens --tokens)."""
import argparse
import http.client
import json
import sys
import threading
import time


def metrics(admin):
    host, port = admin.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("modelgate_managed_replicas_"):
            name, value = line.rsplit(" ", 1)
            out[name.split("{")[0].rsplit("_", 1)[1]] = int(float(value))
    return out


class Load:
    def __init__(self, proxy, tokens):
        self.host, self.port = proxy.split(":")
        self.tokens = tokens
        self.lock = threading.Lock()
        self.ok = 0
        self.failed = 0
        self.errors = {}
        self.stops = []

    def client(self, stop):
        body = json.dumps({"model": "textgen", "prompt": "the model ", "max_tokens": self.tokens})
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.host, int(self.port), timeout=60)
                conn.request("POST", "/v1/completions", body, {"content-type": "application/json"})
                r = conn.getresponse()
                r.read()
                good = r.status == 200
                reason = str(r.status)
            except Exception as e:  # a failed request counts; the loop goes on
                good, reason, conn = False, type(e).__name__, None
            with self.lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1
                    self.errors[reason] = self.errors.get(reason, 0) + 1

    def resize(self, n):
        while len(self.stops) < n:
            stop = threading.Event()
            threading.Thread(target=self.client, args=(stop,), daemon=True).start()
            self.stops.append(stop)
        while len(self.stops) > n:
            self.stops.pop().set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--steps", default="0:5,2:10,8:20,16:20,4:15,0:25")
    ap.add_argument("--tokens", type=int, default=32)
    a = ap.parse_args()
    load = Load(a.proxy, a.tokens)
    print("  t  clients  desired  ready   ok/s  failed/s", flush=True)
    t0 = time.time()
    total_ok = total_failed = 0
    for step in a.steps.split(","):
        clients, seconds = (int(x) for x in step.split(":"))
        load.resize(clients)
        for _ in range(seconds):
            time.sleep(1)
            with load.lock:
                ok, failed = load.ok, load.failed
                load.ok = load.failed = 0
            total_ok += ok
            total_failed += failed
            m = metrics(a.admin)
            print(f"{time.time() - t0:3.0f}  {clients:7d}  {m.get('desired', -1):7d}  {m.get('ready', -1):5d}"
                  f"  {ok:5d}  {failed:8d}", flush=True)
    load.resize(0)
    print(f"total: {total_ok} ok, {total_failed} failed {load.errors or ''}")
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
