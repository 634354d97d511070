# shellcheck shell=bash disable=SC2154  # sourced by scripts/bench.sh, which sets the globals
# Scenario "micro" of scripts/bench.sh (sourced by it): the Google Benchmark micro-benchmarks of
# the request path (modelgate_micro_bench: parse, rewrite, route, backend pick, cache key and
# lookup) and of the quota check (modelgate_quota_bench, with a throw-away redis-server for its
# Redis round trip), pinned to core 0. Output is Google Benchmark's table, as a code block.

scenario_micro() {
  local min_time=0.5 bench_dir redis_port redis_pid
  [ "$quick" = 1 ] && min_time=0.05
  bench_dir="$(cd "$(dirname "$MODELGATE_BIN")/.." && pwd)/tests/bench"
  redis_port=$(free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no \
    >"$tmp/redis.log" 2>&1 & redis_pid=$!; pids+=("$redis_pid")
  wait_port "$redis_port"
  echo
  echo "### Micro-benchmarks (Google Benchmark, \`--benchmark_min_time=$min_time\`, pinned to core 0)"
  echo
  echo "Load average before: $(load_now). \"Time\" is wall time per operation, \"CPU\" the thread's"
  echo "CPU time; on a loaded machine the gap between them is time spent waiting for the core."
  echo
  echo '```'
  $pin_proxy "$bench_dir/modelgate_micro_bench" --benchmark_min_time="$min_time" 2>&1
  MODELGATE_BENCH_REDIS=127.0.0.1:$redis_port $pin_proxy "$bench_dir/modelgate_quota_bench" \
    --benchmark_min_time="$min_time" 2>&1 | grep -v '^Run on\|^CPU Caches\|^  L[123]\|^Running\|^20[0-9][0-9]-'
  echo '```'
  stop "$redis_pid"
  echo
  echo "Load average after: $(load_now)."
}
