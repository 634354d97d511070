#!/usr/bin/env bash
# The autoscaler following a load ramp: builds modelgate and modelgate-backend, makes a small
# textgen model, starts modelgate with a managed pool of 1-4 textgen replicas, and drives a ramp
# of client threads up and down, printing the replicas wanted and ready every second.
#   scripts/autoscale-ramp.sh [--steps CLIENTS:SECONDS,...]   (default 0:5,2:10,8:20,16:20,4:15,0:25)
# Exits 1 if any request failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/build.sh >/dev/null
work=$(mktemp -d /tmp/modelgate-ramp.XXXXXX)
proxy_pid=
cleanup() { [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

backend=$root/build/backend/modelgate-backend
"$backend" make-model --kind textgen --steps 60 --threads 1 --out "$work/textgen.pt" >"$work/make-model.log" 2>&1
cat > "$work/ramp.yaml" <<YAML
workers: 2
listeners: [ { address: 127.0.0.1:0 } ]
admin: { address: 127.0.0.1:0 }
access_log: { path: off }
pools:
  - name: text
    policy: least_queue
    managed:
      command: [ "$backend", "serve", "--model", "$work/textgen.pt", "--kind", "textgen",
                 "--threads", "1", "--listen", "127.0.0.1:{port}" ]
      min_replicas: 1
      max_replicas: 4
      target_queue_depth: 2
      scale_up_cooldown: 2s
      scale_down_cooldown: 5s
      scale_window: 2s
routes:
  - { path_prefix: /, pool: text }
YAML
"$root/build/proxy/modelgate" --config "$work/ramp.yaml" 2>"$work/proxy.err" &
proxy_pid=$!
for _ in $(seq 100); do grep -q "admin listening" "$work/proxy.err" && grep -q "is ready" "$work/proxy.err" && break; sleep 0.2; done
port=$(grep -m1 "listener 0 listening" "$work/proxy.err" | sed -E 's/.*:([0-9]+).*/\1/')
admin=$(grep -m1 "admin listening" "$work/proxy.err" | sed -E 's/.*:([0-9]+).*/\1/')
echo "config: $work/ramp.yaml (log: $work/proxy.err)"
rc=0
python3 scripts/bench/autoscale_ramp.py --proxy "127.0.0.1:$port" --admin "127.0.0.1:$admin" "$@" || rc=$?
echo "scale events:"
grep -E "scaling (up|down)" "$work/proxy.err" | sed -E 's/^[^ ]+ [a-z]+ //'
exit $rc
