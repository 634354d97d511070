# Scenario 5 of scripts/bench.sh: opens N keep-alive connections to 127.0.0.1:PORT, sends one GET
# on each, reads its 100-byte answer, writes N to READY_FILE and holds them open until killed.
#   idle_client.py PORT N READY_FILE
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
req = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    got = b""
    while not got.endswith(b"x" * 100):   # the 100-byte body ends the answer
        chunk = s.recv(4096)
        if not chunk:
            sys.exit("connection %d closed by the proxy" % i)
        got += chunk
    socks.append(s)
open(ready, "w").write("%d\n" % len(socks))
time.sleep(3600)
