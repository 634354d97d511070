#!/usr/bin/env bash
# Side-by-side benchmarks of modelgate, HAProxy and nginx (issue 8); results in docs/benchmarks.md.
#   scripts/bench.sh [--quick] [--only overhead|streaming|routing|cache|idle|backend|micro]
# Every system proxies to the same upstream (an nginx returning a small fixed body), all on
# 127.0.0.1 with free ports, each proxy started fresh per table row with one worker so that
# CPU and peak RSS are per row. Scenario 6 (backend) measures modelgate-backend alone; "micro"
# runs the Google Benchmark micro-benchmarks. No figure is asserted: CI runs --quick only to keep
# this working, and the script fails when a scenario cannot run or produces no figure.
# BUILD_DIR (default build-release) picks the build tree; MODELGATE_BIN overrides the proxy
# binary (the other programs are then taken from its build tree, BACKEND_BIN overrides the
# backend's). JOBS (default: all cores) is the build's parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

quick=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=${2:?--only needs a scenario name}; shift ;;
    *) echo "bench.sh: unknown option $1 (use --quick, --only NAME)" >&2; exit 2 ;;
  esac
  shift
done
case "$only" in ""|overhead|streaming|routing|cache|idle|backend|micro) ;;
  *) echo "bench.sh: unknown scenario $only (overhead, streaming, routing, cache, idle, backend, micro)" >&2
     exit 2 ;;
esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }

scripts/setup.sh --with-bench --with-torch >&2
build_dir=${BUILD_DIR:-build-release}
if [ -z "${MODELGATE_BIN:-}" ]; then
  # Only the targets run here are built, so the Release tree is configured here rather than by
  # `scripts/build.sh --release`, which builds everything (tests included).
  if [ "$build_dir" = build-release ]; then
    if ! grep -qs '^MODELGATE_BUILD_BACKEND:STRING=ON' "$build_dir/CMakeCache.txt"; then
      cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DMODELGATE_BUILD_BACKEND=ON >&2
    fi
  elif [ ! -f "$build_dir/build.ninja" ]; then BUILD_DIR=$build_dir scripts/build.sh >&2; fi
  targets=(modelgate)
  if want routing; then targets+=(modelgate_routing_bench); fi
  if want backend; then targets+=(modelgate-backend); fi
  if want micro; then targets+=(modelgate_micro_bench modelgate_quota_bench); fi
  cmake --build "$build_dir" -j"${JOBS:-$(nproc)}" --target "${targets[@]}" >&2
  MODELGATE_BIN=$root/$build_dir/proxy/modelgate
fi
BACKEND_BIN=${BACKEND_BIN:-$(cd "$(dirname "$MODELGATE_BIN")/.." && pwd)/backend/modelgate-backend}
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$MODELGATE_BIN")/../CMakeCache.txt" 2>/dev/null || true)

# wrk durations: quick mode only has to prove the harness works (whole run < 3 min).
if [ "$quick" = 1 ]; then dur=2; warm=1; conns_list="50"; idle_n=1000
else dur=10; warm=2; conns_list="50 500"; idle_n=10000; fi
# 10,000 idle client sockets plus the proxies' own need more than the default 1024 descriptors.
# HAProxy sizes itself to 2 descriptors per connection, so a lower hard limit lowers N (and says so).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fd_cap=$(( ($(ulimit -n) - 1000) / 2 ))
[ "$idle_n" -gt "$fd_cap" ] && idle_n=$fd_cap

# Two cores: the proxy gets core 0, wrk (one thread) gets core 1, the upstream floats on both.
# "direct" rows pin nothing but wrk. Without taskset/2 cores, nothing is pinned.
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_proxy="taskset -c 0"; pin_client="taskset -c 1"
else pin_proxy=""; pin_client=""; fi

tmp=$(mktemp -d /tmp/modelgate-bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

free_port() {  # asks the kernel for a free port (bind to 0), so parallel runs do not collide
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# Waits until something accepts on 127.0.0.1:$1: $2 tenths of a second at most (default 50),
# giving up early when process $3 (optional) has exited.
wait_port() {
  for _ in $(seq "${2:-50}"); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "bench.sh: nothing listening on port $1; logs:" >&2
  tail -n 5 "$tmp"/*.log "$tmp"/*.err >&2 2>/dev/null || true
  return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

scripts/make-certs.sh "$tmp/certs" >/dev/null
body=$(printf 'x%.0s' $(seq 100))   # 100-byte fixed response body

# ---- upstream: nginx, one worker, plain and TLS ports, keep-alive without a request cap ----
up_port=$(free_port); up_tls_port=$(free_port)
cat > "$tmp/upstream.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $tmp/upstream.pid;
error_log $tmp/upstream.err warn;
events { worker_connections 20000; }
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_temp_path $tmp/u_body; proxy_temp_path $tmp/u_proxy; fastcgi_temp_path $tmp/u_fcgi;
  uwsgi_temp_path $tmp/u_uwsgi; scgi_temp_path $tmp/u_scgi;
  server {
    listen 127.0.0.1:$up_port; listen 127.0.0.1:$up_tls_port ssl;
    ssl_certificate $tmp/certs/server.crt; ssl_certificate_key $tmp/certs/server.key;
    location / { default_type text/plain; return 200 "$body"; }
    # Scenario 4: the same body, marked cacheable so every cache may store it.
    location /cached { default_type text/plain; add_header Cache-Control "max-age=300"; return 200 "$body"; }
  }
}
EOF
nginx -p "$tmp" -c "$tmp/upstream.conf" 2>>"$tmp/upstream.err" & pids+=($!)
wait_port "$up_port"
# Scenarios point the proxies at $backend_port; streaming swaps in the SSE upstream.
backend_port=$up_port
# Streaming sets each peer's documented setting for event streams: nginx "proxy_buffering off;"
# (else it buffers events), HAProxy "option http-no-delay" (else MSG_MORE + Nagle hold each
# event ~200 ms). modelgate has no such setting.
ng_stream=""; ha_stream=""

# ---- proxy configs: one worker each, keep-alive to the upstream with enough idle slots ----
write_configs() {  # $1 = listen port, $2 = 1 for TLS
  local port=$1 tls=$2 mg_tls="" ha_tls="" ng_tls="" mg_cache="" ha_cache="" ng_cache=""
  # Scenario 4 sets with_cache=1: each system caches /cached in memory (nginx: its disk cache,
  # which sits in the page cache here); otherwise no cache exists at all.
  if [ "${with_cache:-0}" = 1 ]; then
    mg_cache=$'cache: { max_bytes: 64MiB, default_ttl: 300s }\n'
    mg_cache+=$'routes: [ { path_prefix: /cached, pool: up, cache: { enabled: true } }, { pool: up } ]'
    ha_cache=$'  http-request cache-use c\n  http-response cache-store c\ncache c\n  total-max-size 64\n  max-age 300'
    ng_cache="proxy_cache_path $tmp/n_cache keys_zone=c:10m; proxy_cache c; proxy_cache_valid 200 5m;"
    ng_cache+=' add_header X-Cache-Status $upstream_cache_status;'
  else
    mg_cache="routes: [ { pool: up } ]"
  fi
  if [ "$tls" = 1 ]; then
    mg_tls=", tls: { cert: $tmp/certs/server.crt, key: $tmp/certs/server.key }"
    cat "$tmp/certs/server.crt" "$tmp/certs/server.key" > "$tmp/certs/haproxy.pem"
    ha_tls=" ssl crt $tmp/certs/haproxy.pem alpn http/1.1"
    ng_tls=" ssl"
  fi
  cat > "$tmp/modelgate.yaml" <<EOF
workers: 1
listeners:
  - { address: 127.0.0.1:$port$mg_tls }
access_log: { path: off }
limits: { max_connections: 100000, idle_timeout: 300s }
pools:
  - name: up
    max_idle_per_backend: 1024   # default 64 would reconnect under 500 client connections
    backends: [ { address: 127.0.0.1:$backend_port } ]
$mg_cache
EOF
  cat > "$tmp/haproxy.cfg" <<EOF
global
  nbthread 1
  tune.ssl.default-dh-param 2048
defaults
  mode http
  timeout connect 2s
  timeout client 300s
  timeout server 300s
  timeout http-keep-alive 300s
  http-reuse always
  ${ha_stream:-}
frontend fe
  bind 127.0.0.1:$port$ha_tls
  default_backend be
backend be
  server up 127.0.0.1:$backend_port maxconn 10000
$ha_cache
EOF
  cat > "$tmp/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
events { worker_connections 20000; }   # = the fd limit; nginx preallocates per slot
http {
  access_log off; keepalive_requests 10000000; keepalive_timeout 300s;
  client_body_temp_path $tmp/n_body; proxy_temp_path $tmp/n_proxy; fastcgi_temp_path $tmp/n_fcgi;
  uwsgi_temp_path $tmp/n_uwsgi; scgi_temp_path $tmp/n_scgi;
  upstream up { server 127.0.0.1:$backend_port; keepalive 1024; keepalive_requests 10000000; }
  $ng_cache
  server {
    listen 127.0.0.1:$port$ng_tls;
    ssl_certificate $tmp/certs/server.crt; ssl_certificate_key $tmp/certs/server.key;
    location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      ${ng_stream:-} }
  }
}
EOF
}

# Starts system $1 listening on $2 (TLS when $3 = 1); sets $proxy_pid and $url.
start_system() {
  local sys=$1 port=$2 tls=$3 scheme=http
  [ "$tls" = 1 ] && scheme=https
  write_configs "$port" "$tls"
  case "$sys" in
    direct)
      proxy_pid=""
      if [ "$tls" = 1 ]; then url="https://127.0.0.1:$up_tls_port/"; else url="http://127.0.0.1:$backend_port/"; fi
      return ;;
    modelgate) $pin_proxy "$MODELGATE_BIN" --config "$tmp/modelgate.yaml" >"$tmp/modelgate.log" 2>&1 & ;;
    haproxy) $pin_proxy haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/haproxy.log" 2>&1 & ;;
    nginx) $pin_proxy nginx -p "$tmp" -c "$tmp/nginx.conf" >"$tmp/nginx.log" 2>&1 & ;;
  esac
  proxy_pid=$!; pids+=("$proxy_pid")
  url="$scheme://127.0.0.1:$port/"
  wait_port "$port"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
peak_rss_mib() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
rss_mib() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
to_ms() {  # wrk prints 512.00us, 1.20ms, 2.01s
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n;
    else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
load_now() { cut -d' ' -f1-3 /proc/loadavg; }
need_num() {  # need_num WHAT VALUE...: fails the run when a figure is missing or not a number
  local what=$1; shift
  for v in "$@"; do
    [[ "$v" =~ ^-?[0-9]+([.][0-9]+)?$ ]] || { echo "bench.sh: $what: no figure ('$v')" >&2; return 1; }
  done
}

# Starts system $1 (TLS when $2 = 1), warms up, runs wrk with $3 connections on PATH $4, stops
# it. Sets rps, p50, p99 (ms), cpu (proxy CPU s per 100k requests, warm-up excluded), rss (peak).
measure() {
  local sys=$1 tls=$2 conns=$3 path=$4 port out t0=0 t1 hz
  hz=$(getconf CLK_TCK)
  port=$(free_port)
  start_system "$sys" "$port" "$tls"
  $pin_client wrk -t1 -c"$conns" -d"${warm}s" "${url%/}$path" >/dev/null
  [ -n "$proxy_pid" ] && t0=$(cpu_ticks "$proxy_pid")
  if [ "$path" = /cached ]; then   # shows on stderr that the answers really are cache hits
    echo "bench.sh: $sys /cached: $(curl -s -o /dev/null -D - "${url%/}$path" | grep -i '^x-cache\|^age' | tr -d '\r' | tr '\n' ' ')" >&2
  fi
  out=$($pin_client wrk -t1 -c"$conns" -d"${dur}s" --latency "${url%/}$path")
  rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "bench.sh: $sys: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2
  fi
  need_num "$sys $path, $conns connections" "$rps" "$p50" "$p99"
  # A few socket errors at 500 connections happen; answers that are mostly errors are no figure.
  local total bad
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  if [ -n "$bad" ] && [ $((bad * 100)) -gt "$total" ]; then
    echo "bench.sh: $sys: $bad of $total answers were not 2xx" >&2; return 1
  fi
  cpu="—"; rss="—"
  if [ -n "$proxy_pid" ]; then
    t1=$(cpu_ticks "$proxy_pid")
    cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v r="$rps" -v s="$dur" \
      'BEGIN { printf "%.2f", (d / hz) / (r * s) * 100000 }')
    rss=$(peak_rss_mib "$proxy_pid")
    stop "$proxy_pid"
  fi
}

# ---- scenario 1: proxy overhead ----
scenario_overhead() {
  echo
  echo "### 1. Proxy overhead (100-byte response, keep-alive, wrk -t1 ${dur}s after ${warm}s warm-up)"
  echo
  echo "Pinning: proxy on core 0 (\`${pin_proxy:-none}\`), wrk on core 1 (\`${pin_client:-none}\`), upstream nginx unpinned."
  echo "Load average before: $(load_now)."
  echo
  echo "| mode | conns | system | req/s | p50 ms | p99 ms | CPU s / 100k req | peak RSS MiB | req/s vs HAProxy | CPU vs HAProxy |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  local tls conns sys
  for tls in 0 1; do
    for conns in $conns_list; do
      declare -A r_rps=() r_cpu=() lines=()
      for sys in direct haproxy modelgate nginx; do
        measure "$sys" "$tls" "$conns" /
        r_rps[$sys]=$rps; r_cpu[$sys]=$cpu
        lines[$sys]="| $([ "$tls" = 1 ] && echo TLS || echo plain) | $conns | $sys | $rps | $p50 | $p99 | $cpu | $rss"
      done
      for sys in direct haproxy modelgate nginx; do
        local rr cr="—"
        rr=$(awk -v a="${r_rps[$sys]}" -v b="${r_rps[haproxy]}" 'BEGIN { printf "%.2f", a / b }')
        [ "${r_cpu[$sys]}" != "—" ] &&
          cr=$(awk -v a="${r_cpu[$sys]}" -v b="${r_cpu[haproxy]}" 'BEGIN { printf "%.2f", a / b }')
        echo "${lines[$sys]} | $rr | $cr |"
      done
      unset r_rps r_cpu lines
    done
  done
  echo
  echo "Load average after: $(load_now)."
}

# ---- scenario 4: cache hits ----
scenario_cache() {
  local conns=50
  echo
  echo "### 4. Cache hits (GET /cached, 100-byte body, $conns connections, wrk -t1 ${dur}s after ${warm}s warm-up)"
  echo
  echo "Every request after the first is a hit (HAProxy: its cache section). \"direct\" is the upstream"
  echo "answering without any cache. Pinned as in scenario 1. Load average before: $(load_now)."
  echo
  echo "| system | req/s | p50 ms | p99 ms | CPU s / 100k req | peak RSS MiB | req/s vs HAProxy | CPU vs HAProxy |"
  echo "|---|---|---|---|---|---|---|---|"
  local sys rr cr
  declare -A r_rps=() r_cpu=() lines=()
  with_cache=1
  for sys in direct haproxy modelgate nginx; do
    measure "$sys" 0 "$conns" /cached
    r_rps[$sys]=$rps; r_cpu[$sys]=$cpu; lines[$sys]="| $sys | $rps | $p50 | $p99 | $cpu | $rss"
  done
  with_cache=0
  for sys in direct haproxy modelgate nginx; do
    cr="—"
    rr=$(awk -v a="${r_rps[$sys]}" -v b="${r_rps[haproxy]}" 'BEGIN { printf "%.2f", a / b }')
    [ "${r_cpu[$sys]}" != "—" ] &&
      cr=$(awk -v a="${r_cpu[$sys]}" -v b="${r_cpu[haproxy]}" 'BEGIN { printf "%.2f", a / b }')
    echo "${lines[$sys]} | $rr | $cr |"
  done
}

# ---- scenario 5: idle keep-alive connections ----
# A Python client opens N connections, sends one request on each, reads the answer and then holds
# them all open; the proxy's resident memory is read before and while they are held.
scenario_idle() {
  echo
  echo "### 5. Idle connections ($idle_n idle keep-alive client connections, plain HTTP)"
  echo
  echo "Load average before: $(load_now)."
  echo
  echo "| system | RSS before MiB | RSS with $idle_n idle MiB | KiB per connection | vs HAProxy |"
  echo "|---|---|---|---|---|"
  local sys port before after client per
  declare -A r_per=() lines=()
  for sys in haproxy modelgate nginx; do
    port=$(free_port)
    start_system "$sys" "$port" 0
    curl -s -o /dev/null "$url"; sleep 0.5   # one answered request first, so start-up is done
    before=$(rss_mib "$proxy_pid")
    rm -f "$tmp/idle.ready"
    $pin_client python3 "$root/scripts/bench/idle_client.py" "$port" "$idle_n" "$tmp/idle.ready" & client=$!
    pids+=("$client")
    while [ ! -s "$tmp/idle.ready" ]; do
      kill -0 "$client" 2>/dev/null || { echo "bench.sh: idle client for $sys failed" >&2; return 1; }
      sleep 0.2
    done
    sleep 1   # let the proxy settle after the last answer
    after=$(rss_mib "$proxy_pid")
    per=$(awk -v a="$after" -v b="$before" -v n="$idle_n" 'BEGIN { printf "%.1f", (a - b) * 1024 / n }')
    need_num "$sys idle" "$before" "$after" "$per"
    stop "$client"; stop "$proxy_pid"
    r_per[$sys]=$per; lines[$sys]="| $sys | $before | $after | $per"
  done
  for sys in haproxy modelgate nginx; do
    echo "${lines[$sys]} | $(awk -v a="${r_per[$sys]}" -v b="${r_per[haproxy]}" 'BEGIN { printf "%.2f", a / b }') |"
  done
}

# ---- scenario 2: streaming (SSE) ----
# sse_upstream.py answers every request with 100 SSE events 10 ms apart (chunked, keep-alive);
# sse_client.py runs S streams one after another and prints time to first event and inter-event
# gaps. Python timing jitter is well under a millisecond, and "direct" carries the same jitter.
scenario_streaming() {
  local streams=20; [ "$quick" = 1 ] && streams=2
  echo
  echo "### 2. Streaming (SSE: 100 events 10 ms apart, $streams streams in a row on one keep-alive connection, after one warm-up stream)"
  echo
  echo "Load average before: $(load_now). Proxy pinned as in scenario 1, client on core 1."
  echo
  echo "| system | first event p50 ms | gap mean ms | gap p50 ms | gap p99 ms | added first event ms | added gap p99 ms |"
  echo "|---|---|---|---|---|---|---|"
  local sse_port sse_pid sys port r f0 g0 f g50m g50 g99
  sse_port=$(free_port)
  python3 "$root/scripts/bench/sse_upstream.py" "$sse_port" & sse_pid=$!; pids+=("$sse_pid")
  wait_port "$sse_port"
  backend_port=$sse_port; ng_stream="proxy_buffering off;"; ha_stream="option http-no-delay"
  for sys in direct haproxy modelgate nginx; do
    port=$(free_port)
    start_system "$sys" "$port" 0
    port=${url#http://127.0.0.1:}; port=${port%/}   # "direct" is the upstream's own port
    r=$($pin_client python3 "$root/scripts/bench/sse_client.py" "$port" "$streams")
    [ -n "$proxy_pid" ] && stop "$proxy_pid"
    read -r f g50m g50 g99 <<<"$r"
    need_num "$sys streaming" "$f" "$g50m" "$g50" "$g99"
    [ "$sys" = direct ] && { f0=$f; g0=$g99; }
    echo "| $sys | $f | $g50m | $g50 | $g99 | $(awk -v a="$f" -v b="$f0" 'BEGIN{printf "%+.2f", a-b}') | $(awk -v a="$g99" -v b="$g0" 'BEGIN{printf "%+.2f", a-b}') |"
  done
  backend_port=$up_port; ng_stream=""; ha_stream=""
  stop "$sse_pid"
}

# ---- scenario 3: routing quality (its own harness, see docs/routing.md) ----
scenario_routing() {
  echo
  echo "### 3. Routing quality (scripts/bench-routing.sh$([ "$quick" = 1 ] && echo ' --quick'))"
  echo
  echo "Load average before: $(load_now)."
  echo
  local args=(); [ "$quick" = 1 ] && args+=(--quick)
  # The routing bench sits in the same build tree as the modelgate binary it drives.
  "$(dirname "$MODELGATE_BIN")/../tests/bench/modelgate_routing_bench" --proxy "$MODELGATE_BIN" "${args[@]}"
}

echo "## modelgate benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), loopback."
echo "modelgate: $MODELGATE_BIN (${build_type:-unknown build type}); $(haproxy -v | head -1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | cut -d' ' -f3); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)."
if want backend; then echo "modelgate-backend: $BACKEND_BIN."; fi
echo "Mode: $([ "$quick" = 1 ] && echo quick || echo full)."
# Scenario 6 and the micro-benchmarks live in their own files (this one is long enough).
source "$root/scripts/bench/backend.sh"
source "$root/scripts/bench/micro.sh"
# `if`, not `want X && scenario_X`: errexit is off inside a function called from an && list, so a
# scenario that fails half way would go unnoticed.
for scen in overhead streaming routing cache idle backend micro; do
  if want "$scen"; then
    started=$SECONDS
    "scenario_$scen"
    echo "bench.sh: $scen took $((SECONDS - started)) s" >&2
  fi
done
