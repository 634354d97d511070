#!/usr/bin/env bash
# Scans a modelgate TLS listener with testssl.sh: protocols, cipher suites, known TLS
# vulnerabilities. Starts the proxy on 127.0.0.1 with throw-away certificates from
# scripts/make-certs.sh, runs the scan, stops the proxy. Needs `scripts/setup.sh --with-testssl`.
#   scripts/tls-scan.sh [MODELGATE_BINARY] [EXTRA testssl OPTIONS...]
# Default binary: build/proxy/modelgate. The report is printed and kept in the work folder
# (its path is printed at the end), as text and JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=${1:-$root/build/proxy/modelgate}
shift || true
testssl=$(command -v testssl || command -v testssl.sh || true)
if [ -z "$testssl" ]; then
  echo "tls-scan.sh: testssl not found; run scripts/setup.sh --with-testssl" >&2
  exit 1
fi
[ -x "$bin" ] || { echo "tls-scan.sh: no modelgate binary at $bin" >&2; exit 1; }

work=$(mktemp -d /tmp/modelgate-tls-scan.XXXXXX)
scripts/make-certs.sh "$work/certs" >/dev/null
# Port 9 has no backend: the scan only needs the listener; requests get 404/502.
cat >"$work/modelgate.yaml" <<'EOF'
workers: 1
listeners:
  - address: 127.0.0.1:0
    tls: { cert: certs/server.crt, key: certs/server.key }
access_log: { path: off }
pools:
  - name: none
    backends: [ { address: 127.0.0.1:9 } ]
routes:
  - { path_prefix: /v1/, pool: none }
EOF

: >"$work/proxy.log"
"$bin" --config "$work/modelgate.yaml" >"$work/proxy.log" 2>&1 &
proxy=$!
trap 'kill $proxy 2>/dev/null || true; wait $proxy 2>/dev/null || true' EXIT
port=
for _ in $(seq 1 100); do
  port=$(sed -nE 's/.*listener 0 listening on 127\.0\.0\.1:([0-9]+).*/\1/p' "$work/proxy.log" | head -n1 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "tls-scan.sh: the proxy did not start:" >&2; cat "$work/proxy.log" >&2; exit 1; }

# --ip one: only the loopback address; --openssl: the system's OpenSSL 3 (testssl's own
# binary is not packaged in Debian); --add-ca: trust the throw-away CA, so the chain is checked;
# --sneaky: a browser-like User-Agent.
cmd=("$testssl" --quiet --color 0 --ip one --openssl /usr/bin/openssl --sneaky
     --add-ca "$work/certs/ca.crt"
     --jsonfile "$work/testssl.json" --logfile "$work/testssl.log" "$@" "127.0.0.1:$port")
echo "+ ${cmd[*]}"
status=0
"${cmd[@]}" || status=$?
echo "tls-scan.sh: report in $work (testssl exit status $status)"
exit "$status"
