# Scenario 2 of scripts/bench.sh: runs STREAMS SSE requests one after another on one connection
# (plus an unrecorded warm-up) and prints: first-event p50, gap mean, gap p50, gap p99 (ms).
#   sse_client.py PORT STREAMS
import socket, statistics, sys, time
port, streams = int(sys.argv[1]), int(sys.argv[2])
ttfe, gaps = [], []
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
for k in range(streams + 1):   # stream 0 warms up the proxy's upstream connection, not recorded
    if k == 1: ttfe, gaps = [], []
    t0 = time.perf_counter(); s.sendall(b"GET /sse HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    seen, last, buf = 0, None, b""
    while seen < 100 or not buf.endswith(b"0\r\n\r\n"):
        chunk = s.recv(65536); now = time.perf_counter()
        if not chunk: sys.exit("stream closed early")
        buf += chunk; n = buf.count(b"data: ") - seen
        for _ in range(n):
            if last is None: ttfe.append((now - t0) * 1e3)
            else: gaps.append((now - last) * 1e3)
            last = now
        seen += n
q = statistics.quantiles(gaps, n=100)
print("%.2f %.2f %.2f %.2f" % (statistics.median(ttfe), statistics.mean(gaps), q[49], q[98]))
