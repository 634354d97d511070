#!/usr/bin/env bash
# Configures and builds modelgate into BUILD_DIR (default: build). Installs dependencies first.
#   scripts/build.sh [--sanitize | --tsan] [--release] [--no-backend] [--target=NAME ...]
# JOBS (default: all cores) bounds the parallel compiles; --target builds only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
type=RelWithDebInfo
backend=AUTO
setup_args=(--with-torch)
extra=()
targets=()
for arg in "$@"; do
  case "$arg" in
    # Debug keeps assertions on; CMakeLists.txt adds -O1 to sanitizer builds.
    --sanitize) extra+=(-DMODELGATE_SANITIZE=ON); type=Debug; build_dir=${BUILD_DIR:-build-asan} ;;
    # ThreadSanitizer for the multi-threaded tests; no micro-benchmarks (they are single-threaded).
    --tsan) extra+=(-DMODELGATE_TSAN=ON -DMODELGATE_BUILD_BENCH=OFF); type=Debug; build_dir=${BUILD_DIR:-build-tsan} ;;
    --release) type=Release; build_dir=${BUILD_DIR:-build-release} ;;
    --no-backend) backend=OFF; setup_args=() ;;
    --target=*) targets+=(--target "${arg#--target=}") ;;
    *) echo "build.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
extra+=(-DMODELGATE_BUILD_BACKEND="$backend")  # always: a cached OFF must not stick

scripts/setup.sh "${setup_args[@]}"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "${extra[@]}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-$(nproc)}" "${targets[@]}"

