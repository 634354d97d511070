#!/usr/bin/env bash
# Routing-quality benchmark (issue 8, scenario 3): builds, then runs modelgate's policies (and
# HAProxy's, when /usr/sbin/haproxy exists) in front of four simulated backends, one 3x slower,
# and prints a markdown table. Results and how to read them: docs/routing.md.
#   scripts/bench-routing.sh [--quick] [--rate R] [--duration S] [--no-haproxy] [--only NAME]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${BUILD_DIR:-build}
# A fresh checkout gets the full build (dependencies included); after that only the two targets
# the benchmark runs are brought up to date.
[ -f "$build_dir/build.ninja" ] || BUILD_DIR=$build_dir scripts/build.sh
cmake --build "$build_dir" -j"$(nproc)" --target modelgate modelgate_routing_bench
# Open-loop load keeps up to a few thousand connections open at once.
ulimit -n 20000 2>/dev/null || true
exec "$build_dir/tests/bench/modelgate_routing_bench" --proxy "$build_dir/proxy/modelgate" "$@"
