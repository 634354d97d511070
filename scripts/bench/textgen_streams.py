# Scenario 6 of scripts/bench.sh: keeps STREAMS streamed completions (max_tokens MAX_TOKENS each,
# a new one as soon as one ends, keep-alive) running against modelgate-backend's
# /v1/completions for WARM + SECONDS seconds and counts the tokens (one SSE event each) that
# arrive in the last SECONDS. With the backend's PID, also reads its CPU time (utime + stime) at
# the start and end of those SECONDS. Prints: tokens/s, tokens/s per stream, first-token p50 ms,
# first-token p99 ms, streams finished, tokens per backend CPU second (0 without PID). Exits
# non-zero when no token arrived or a request failed.
#   textgen_streams.py PORT STREAMS SECONDS WARM MAX_TOKENS [PID]
import asyncio, json, os, statistics, sys, time

port, streams, seconds, warm, max_tokens = (int(sys.argv[1]), int(sys.argv[2]),
                                            float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]))
pid = int(sys.argv[6]) if len(sys.argv) > 6 else 0
start = time.perf_counter()
t_from, t_to = start + warm, start + warm + seconds
counted, ttft, finished, cpu = 0, [], 0, []


def cpu_s(p):   # utime + stime of process p, seconds
    with open("/proc/%d/stat" % p) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sample_cpu():
    for t in (t_from, t_to):
        await asyncio.sleep(max(0.0, t - time.perf_counter()))
        cpu.append(cpu_s(pid))


async def one_stream(k):
    global counted, finished
    r, w = await asyncio.open_connection("127.0.0.1", port)
    n = 0
    while time.perf_counter() < t_to:
        body = json.dumps({"prompt": "The ", "max_tokens": max_tokens, "temperature": 1,
                           "seed": k * 100000 + n, "stream": True}).encode()
        n += 1
        t0 = time.perf_counter()
        w.write(b"POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        head = await r.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            sys.exit("stream %d: %s" % (k, head.split(b"\r\n")[0].decode()))
        buf, recent, first, done = b"", b"", True, False
        while not (done and recent.endswith(b"0\r\n\r\n")):   # the last, empty chunk
            chunk = await r.read(65536)
            now = time.perf_counter()
            if not chunk:
                sys.exit("stream %d: connection closed early" % k)
            recent = (recent + chunk)[-8:]
            buf += chunk
            cut = buf.rfind(b"\n") + 1   # whole lines only, so no event is counted twice
            lines, buf = buf[:cut], buf[cut:]
            tokens = lines.count(b"data: {")
            done = done or b"data: [DONE]" in lines
            if tokens and first:
                first = False
                if now >= t_from:
                    ttft.append((now - t0) * 1e3)
            if t_from <= now < t_to:
                counted += tokens
            if now >= t_to:
                w.close()
                return
        finished += 1
    w.close()


async def main():
    await asyncio.gather(*(one_stream(k) for k in range(streams)), *([sample_cpu()] if pid else []))


asyncio.run(main())
if counted == 0:
    sys.exit("no tokens counted")
q = statistics.quantiles(ttft, n=100) if len(ttft) >= 2 else [ttft[0] if ttft else float("nan")] * 99
per_cpu = counted / (cpu[1] - cpu[0]) if pid and cpu[1] > cpu[0] else 0
print("%.0f %.1f %.1f %.1f %d %.0f" % (counted / seconds, counted / seconds / streams,
                                       statistics.median(ttft) if ttft else float("nan"), q[98],
                                       finished, per_cpu))
