#!/usr/bin/env bash
# Soak: modelgate (TLS, 2 workers) in front of an nginx upstream and an SSE upstream under a
# steady mixed load (keep-alive and new-connection requests, cache hits, SSE streams, an API key
# past its rate limit) for DURATION seconds; prints RSS and open fds over time and passes when
# both stay flat (under 5% growth after warm-up) and no request failed.
#   scripts/soak.sh [DURATION_SECONDS (default 1800)] [SAMPLE_INTERVAL_SECONDS (default 30)]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-1800}
interval=${2:-30}
[ "$duration" -ge 60 ] 2>/dev/null || interval=${2:-5}

# shellcheck source=lib/harness.sh
source scripts/lib/harness.sh
harness_init soak

scripts/make-certs.sh "$tmp/certs" >/dev/null
up=$(free_port); sse=$(free_port); port=$(free_port); admin=$(free_port)
start_nginx_upstream upstream "$up"
python3 scripts/bench/sse_upstream.py "$sse" &
wait_port "$up"; wait_port "$sse"
key_hash=$("$bin" hash-key soak-limited-key)
cat > "$tmp/soak.yaml" <<YAML
workers: 2
listeners:
  - { address: 127.0.0.1:$port, tls: { cert: $tmp/certs/server.crt, key: $tmp/certs/server.key } }
admin: { address: 127.0.0.1:$admin }
access_log: { path: off }
cache: { max_bytes: 16MiB }
pools:
  - name: plain
    backends: [ { address: 127.0.0.1:$up } ]
  - name: sse
    backends: [ { address: 127.0.0.1:$sse } ]
routes:
  - { path_prefix: /stream/, pool: sse, public: true }
  - { path_prefix: /cached/, pool: plain, public: true, cache: { enabled: true, shared: true, always: true, ttl: 5s } }
  - { path_prefix: /limited/, pool: plain }
  - { path_prefix: /, pool: plain, public: true }
auth:
  keys:
    - { id: limited, sha256: "$key_hash", quota: { requests_per_second: 5, burst: 5 } }
YAML
"$bin" --config "$tmp/soak.yaml" >"$tmp/proxy.out" 2>"$tmp/proxy.err" & proxy=$!
wait_admin_ready "$admin"
echo "soak: ${duration}s against modelgate pid $proxy (config $tmp/soak.yaml)"
rc=0
python3 scripts/bench/soak.py --port "$port" --ca "$tmp/certs/ca.crt" --pid "$proxy" \
  --duration "$duration" --interval "$interval" || rc=$?
curl -s "http://127.0.0.1:$admin/metrics" | grep -E '^modelgate_(cache_hits_total|quota_rejections_total\{.*reason="rate"|errors_total)' || true
exit $rc
