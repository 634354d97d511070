#!/usr/bin/env python3
"""Soak driver for scripts/soak.sh: steady mixed load through modelgate (TLS) for DURATION
seconds while sampling the proxy's RSS and open file descriptors.

Load (one thread each unless noted): uncached requests on a keep-alive connection (3 threads),
uncached requests on a new connection each time, cached requests (a few bodies, so mostly
hits), SSE streams of 100 events, and a rate-limited API key hammered past its quota (429s are
expected, not errors). Exit 0 when there were no errors and RSS and fds stayed flat (growth
under 5% after warm-up), else 1."""
import argparse
import http.client
import os
import ssl
import sys
import threading
import time


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.count = {}
        self.errors = {}

    def add(self, kind, error=None):
        with self.lock:
            self.count[kind] = self.count.get(kind, 0) + 1
            if error:
                key = f"{kind}: {error}"
                self.errors[key] = self.errors.get(key, 0) + 1


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def worker(kind, a, ctx, stats, stop):
    conn = None
    i = 0
    while not stop.is_set():
        i += 1
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", a.port, context=ctx, timeout=30)
            headers = {"content-type": "application/json"}
            if kind == "stream":
                conn.request("GET", "/stream/events", headers=headers)
            elif kind == "cached":
                conn.request("POST", "/cached/v1/completions", f'{{"prompt":"p{i % 8}","temperature":0}}', headers)
            elif kind == "limited":
                headers["authorization"] = "Bearer soak-limited-key"
                conn.request("POST", "/limited/v1/completions", '{"prompt":"x"}', headers)
            else:
                if kind == "churn":
                    headers["connection"] = "close"
                conn.request("POST", "/v1/completions", '{"prompt":"hello"}', headers)
            r = conn.getresponse()
            body = r.read()
            ok = r.status == 200 or (kind == "limited" and r.status == 429)
            if kind == "stream" and ok and not body.endswith(b"data: 99\n\n"):
                ok = False
            stats.add(kind, None if ok else f"status {r.status}")
            if kind == "churn" or r.getheader("connection", "").lower() == "close":
                conn.close()
                conn = None
            if kind == "limited":
                time.sleep(0.02)
        except Exception as e:  # counted, then a fresh connection
            stats.add(kind, type(e).__name__)
            conn = None
            time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--interval", type=float, default=10)
    a = ap.parse_args()
    ctx = ssl.create_default_context(cafile=a.ca)
    stats, stop = Stats(), threading.Event()
    kinds = ["plain"] * 3 + ["churn", "cached", "stream", "limited"]
    threads = [threading.Thread(target=worker, args=(k, a, ctx, stats, stop), daemon=True) for k in kinds]
    for t in threads:
        t.start()
    warmup = min(60.0, a.duration / 3)
    print(f"warm-up {warmup:.0f} s, sampling every {a.interval:.0f} s", flush=True)
    print("     t   rss_kib  fds  requests  errors", flush=True)
    samples = []
    t0 = time.time()
    while True:
        elapsed = time.time() - t0
        if elapsed >= a.duration:
            break
        time.sleep(min(a.interval, a.duration - elapsed))
        rss, fds = proc_sample(a.pid)
        with stats.lock:
            total, errors = sum(stats.count.values()), sum(stats.errors.values())
        t = time.time() - t0
        samples.append((t, rss, fds))
        print(f"{t:6.0f}  {rss:8d}  {fds:3d}  {total:8d}  {errors:6d}", flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=35)
    after = [s for s in samples if s[0] >= warmup]
    if len(after) < 2:
        print("too short to judge growth: need two samples after warm-up")
        return 1
    base_rss, base_fds = after[0][1], max(s[2] for s in after[: max(1, len(after) // 4)])
    tail = after[-3:]
    end_rss = sum(s[1] for s in tail) / len(tail)
    end_fds = max(s[2] for s in tail)
    rss_growth = end_rss / base_rss - 1
    fds_ok = end_fds <= max(base_fds * 1.05, base_fds + 8)
    print(f"requests by kind: {dict(sorted(stats.count.items()))}")
    print(f"errors: {stats.errors or 0}")
    print(f"rss after warm-up {base_rss} KiB, at the end {end_rss:.0f} KiB: growth {rss_growth * 100:+.1f}%")
    print(f"fds after warm-up {base_fds}, at the end {end_fds}")
    passed = not stats.errors and rss_growth < 0.05 and fds_ok
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
