#!/usr/bin/env bash
# Installs what is missing, builds everything (tests included) and runs the whole ctest suite.
#   scripts/test.sh               RelWithDebInfo build in ./build, unit + integration tests
#   scripts/test.sh --sanitize    ASan+UBSan build in ./build-asan (proxy only)
#   scripts/test.sh --tsan        ThreadSanitizer build in ./build-tsan: the multi-threaded tests
#                                 (tsan_tests below); reports land in build-tsan/tsan/
#   scripts/test.sh -L unit       extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

build_args=()
ctest_args=()
build_dir=${BUILD_DIR:-build}
tsan=0
# What runs under TSan: the cache's single-flight and LRU shards and the quota tables under
# threads, and every integration test of the real proxy (2 workers): reload, cache, balancing,
# quota, lifecycle, streaming, limits (about a minute in all).
tsan_targets=(modelgate modelgate_cache_tests modelgate_quota_tests modelgate_integration_tests
  modelgate_quota_e2e_tests)
tsan_tests='^(CacheConcurrency|SingleFlight|LruStore|Concurrency|LocalStore|ProxyTest|UpstreamTlsTest'
tsan_tests+='|ReloadTest|CacheTest|CacheRedisTest|BalancingTest|QuotaTest|QuotaRedisTest)\.'
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_args+=(--sanitize --no-backend); build_dir=${BUILD_DIR:-build-asan} ;;
    --tsan)
      tsan=1
      build_args+=(--tsan --no-backend "${tsan_targets[@]/#/--target=}")
      build_dir=${BUILD_DIR:-build-tsan} ;;
    --no-backend) build_args+=(--no-backend) ;;
    *) ctest_args+=("$arg") ;;
  esac
done

# The Redis-backed tests (quota store, shared cache tier) start their own redis-server.
scripts/setup.sh --with-redis
BUILD_DIR=$build_dir scripts/build.sh "${build_args[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if [ "$tsan" = 0 ]; then
  ctest --test-dir "$build_dir" --output-on-failure --timeout 300 -j2 "${ctest_args[@]}"
  exit
fi

# TSan: every process (tests, the proxies they start) writes its reports to its own file, so a
# race inside a child proxy fails the run even when the test itself passed.
logs=$build_dir/tsan
rm -rf "$logs" && mkdir -p "$logs"
supp=""
[ ! -f tests/tsan.supp ] || supp=":suppressions=$PWD/tests/tsan.supp"
export TSAN_OPTIONS=${TSAN_OPTIONS:-second_deadlock_stack=1:log_path=$PWD/$logs/report$supp}
[ ${#ctest_args[@]} -gt 0 ] || ctest_args=(-R "$tsan_tests")
status=0
ctest --test-dir "$build_dir" --output-on-failure --timeout 600 -j1 "${ctest_args[@]}" || status=$?
if compgen -G "$logs/report.*" >/dev/null; then
  cat "$logs"/report.*
  echo "test.sh --tsan: ThreadSanitizer reports in $logs/" >&2
  exit 1
fi
exit $status
