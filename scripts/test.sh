#!/usr/bin/env bash
# Installs what is missing, builds everything (tests included) and runs the whole ctest suite.
#   scripts/test.sh               RelWithDebInfo build in ./build, unit + integration tests
#   scripts/test.sh --sanitize    ASan+UBSan build in ./build-asan (proxy only)
#   scripts/test.sh -L unit       extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."

build_args=()
ctest_args=()
build_dir=${BUILD_DIR:-build}
for arg in "$@"; do
  case "$arg" in
    --sanitize) build_args+=(--sanitize --no-backend); build_dir=${BUILD_DIR:-build-asan} ;;
    --no-backend) build_args+=(--no-backend) ;;
    *) ctest_args+=("$arg") ;;
  esac
done

# The Redis-backed tests (quota store, shared cache tier) start their own redis-server.
scripts/setup.sh --with-redis
BUILD_DIR=$build_dir scripts/build.sh "${build_args[@]}"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build_dir" --output-on-failure --timeout 300 -j2 "${ctest_args[@]}"
