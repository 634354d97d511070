# Scenario 2 of scripts/bench.sh: an SSE upstream. Every request gets 100 events 10 ms apart,
# chunked, on a keep-alive connection (asyncio, so sleeps do not block other connections).
#   sse_upstream.py PORT
import asyncio, sys
async def serve(r, w):
    try:
        while True:
            head = await r.readuntil(b"\r\n\r\n")
            if not head: return
            w.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                    b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
            for i in range(100):
                ev = b"data: %d\n\n" % i
                w.write(b"%x\r\n%s\r\n" % (len(ev), ev)); await w.drain()
                if i < 99: await asyncio.sleep(0.010)
            w.write(b"0\r\n\r\n"); await w.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
async def main():
    srv = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with srv: await srv.serve_forever()
asyncio.run(main())
