#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for SECONDS (default 60)
# from the seed corpora in tests/fuzz/corpus/. New inputs go to build-fuzz/corpus/, crashes to
# build-fuzz/artifacts/; the script exits non-zero if any target found one.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (JOBS bounds the parallel compiles; default all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config_fuzz load_report_fuzz canonical_json_fuzz token_usage_fuzz
  request_path_fuzz kserve_fuzz openai_fuzz)

scripts/setup.sh --with-fuzz
build=${BUILD_DIR:-build-fuzz}
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
  -DMODELGATE_FUZZ=ON >/dev/null
cmake --build "$build" -j"${JOBS:-$(nproc)}"

mkdir -p "$build/artifacts"
failed=()
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${t%_fuzz}
  work=$build/corpus/$t
  mkdir -p "$work"
  echo "== $t for ${seconds}s (seeds: $seeds)"
  # The first corpus folder receives new inputs, so the checked-in seeds stay untouched.
  if ! "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/artifacts/$t-" -print_final_stats=1 "$work" "$seeds" \
      2>"$build/$t.log"; then
    failed+=("$t")
    tail -n 40 "$build/$t.log"
  fi
  grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$build/$t.log" | tail -n 2 || true
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: findings in ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzz.sh: no findings"
