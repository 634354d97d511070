#!/usr/bin/env bash
# The main job, end to end: install dependencies, build, make TLS certificates, start two
# modelgate-backend text generators and one image classifier (libtorch), put modelgate with TLS in
# front of them, send sample requests (plain, streamed, KServe v2) and show a metrics excerpt.
# Everything runs on 127.0.0.1 and is stopped when the script ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

echo "== building (first run installs Debian packages and compiles; later runs are quick)"
scripts/build.sh
bin=$root/build/proxy/modelgate
backend=$root/build/backend/modelgate-backend
if [ ! -x "$backend" ]; then
  echo "demo.sh: $backend was not built (is libtorch-dev installed?)" >&2
  exit 1
fi

work=$(mktemp -d /tmp/modelgate-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Prints the port a process logged as "... listening on 127.0.0.1:PORT" (the Nth such line).
port_of() {
  local log=$1 pattern=$2
  for _ in $(seq 1 300); do
    local line
    line=$(grep -m1 -E "$pattern" "$log" 2>/dev/null || true)
    if [ -n "$line" ]; then
      echo "$line" | sed -E 's/.*127\.0\.0\.1:([0-9]+).*/\1/'
      return 0
    fi
    sleep 0.1
  done
  echo "demo.sh: no '$pattern' in $log:" >&2
  cat "$log" >&2
  return 1
}

echo "== certificates and models in $work"
scripts/make-certs.sh "$work/certs"
# One libtorch thread per process: three backends and the proxy share this machine's cores, and
# libtorch's OpenMP threads slow down many times over when they outnumber free cores
# (docs/backend.md). The two models train side by side, one core each (about a minute).
"$backend" make-model --kind textgen --out "$work/textgen.pt" --seed 1 --steps 60 --threads 1 \
  >"$work/make-textgen.log" 2>&1 &
maker=$!
pids+=("$maker")
"$backend" make-model --kind classifier --out "$work/classifier.pt" --seed 1 --threads 1
wait "$maker" || { cat "$work/make-textgen.log" >&2; exit 1; }
tail -n 1 "$work/make-textgen.log"

echo "== starting backends"
for i in 1 2; do
  "$backend" serve --model "$work/textgen.pt" --kind textgen --name textgen --listen 127.0.0.1:0 \
    --threads 1 >"$work/text$i.log" 2>&1 &
  pids+=($!)
done
"$backend" serve --model "$work/classifier.pt" --kind classifier --name classifier \
  --listen 127.0.0.1:0 --max-batch 8 --threads 1 >"$work/vision.log" 2>&1 &
pids+=($!)
text1=$(port_of "$work/text1.log" "listening on")
text2=$(port_of "$work/text2.log" "listening on")
vision=$(port_of "$work/vision.log" "listening on")

cat >"$work/modelgate.yaml" <<YAML
workers: 2
listeners:
  - address: 127.0.0.1:0
    tls: { cert: certs/server.crt, key: certs/server.key }
admin: { address: 127.0.0.1:0 }
access_log: { path: access.log }
pools:
  - name: text
    backends: [ { address: 127.0.0.1:$text1 }, { address: 127.0.0.1:$text2 } ]
  - name: vision
    backends: [ { address: 127.0.0.1:$vision } ]
routes:
  - { path_prefix: /v2/, pool: vision }
  - { path_prefix: /v1/, pool: text }
YAML
echo "== modelgate --check-config"
"$bin" --check-config "$work/modelgate.yaml"
"$bin" --config "$work/modelgate.yaml" >"$work/modelgate.log" 2>&1 &
pids+=($!)
proxy=$(port_of "$work/modelgate.log" "listener 0 listening on")
admin=$(port_of "$work/modelgate.log" "admin listening on")
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$admin/readyz" >/dev/null && break
  sleep 0.1
done
url=https://localhost:$proxy
tls=(--cacert "$work/certs/ca.crt")

echo
echo "== GET $url/v1/models"
curl -sS "${tls[@]}" "$url/v1/models"; echo
echo
echo "== POST $url/v1/completions"
curl -sS "${tls[@]}" -H 'content-type: application/json' \
  -d '{"model":"textgen","prompt":"The proxy","max_tokens":24,"temperature":0,"seed":1}' \
  "$url/v1/completions"; echo
echo
echo "== POST $url/v1/completions with stream: true (events arrive as they are generated)"
curl -sSN "${tls[@]}" -H 'content-type: application/json' \
  -d '{"model":"textgen","prompt":"Once upon","max_tokens":8,"stream":true,"seed":2}' \
  "$url/v1/completions" | head -c 1500; echo
echo
echo "== POST $url/v2/models/classifier/infer (one 3x64x64 image)"
awk 'BEGIN { printf "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,3,64,64],\"datatype\":\"FP32\",\"data\":[";
             for (i = 0; i < 12288; i++) printf "%s%.3f", (i ? "," : ""), ((i % 64) < 32 ? 0.9 : 0.1);
             printf "]}]}" }' >"$work/image.json"
curl -sS "${tls[@]}" -H 'content-type: application/json' --data-binary @"$work/image.json" \
  "$url/v2/models/classifier/infer"; echo
echo
echo "== an unknown path gets a JSON 404"
curl -sS "${tls[@]}" "$url/nothing"; echo
echo
echo "== metrics excerpt (http://127.0.0.1:$admin/metrics)"
curl -sS "http://127.0.0.1:$admin/metrics" | grep -E '^modelgate_(requests_total|upstream_connections|downstream_connections) ' -A0 || true
curl -sS "http://127.0.0.1:$admin/metrics" | grep -E '^modelgate_requests_total\{.*code="2xx"' || true
curl -sS "http://127.0.0.1:$admin/metrics" | grep -E '^modelgate_upstream_ttfb_seconds_count' || true
echo
echo "== access log ($work/access.log)"
tail -n 3 "$work/access.log"
echo
echo "demo done; files kept in $work"
