# shellcheck shell=bash disable=SC2154  # sourced by scripts/bench.sh, which sets the globals
# Scenario 6 of scripts/bench.sh (sourced by it; uses its helpers, $tmp, $quick, $dur, $warm and
# the pinning): modelgate-backend alone, no proxy in front.
#  a) the model's own loop of calls (`modelgate-backend bench-forward`) at each batch size, for
#     fp32 (quantize none), int8 and bf16: the limit;
#  b) the classifier over HTTP (KServe v2, one 3x64x64 image per request, wrk -t1 -c32) with
#     --max-batch 1 against dynamic batching (--max-batch 32 --max-delay-us 2000);
#  c) textgen over HTTP: tokens/s of 1, 8 and 32 concurrent streamed completions with continuous
#     batching (--max-batch 32), next to the decode step loop at the same batch sizes.
# The backend runs with --threads 1 on core 0 (the 2-core machine has no core to spare for a
# second libtorch thread; see docs/backend.md), the client on core 1. Besides wall-clock rates,
# every figure is also given per second of the backend's CPU time, which a busy neighbour on the
# machine disturbs far less. The demo models are untrained (--steps 0): a forward costs the same
# whatever the weights.

jget() {  # jget FILE PYTHON-EXPR-ON-d: a figure from bench-forward's JSON
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}
batch_sums() {  # "sum count" of modelgate_backend_batch_size on 127.0.0.1:$1
  curl -sf "http://127.0.0.1:$1/metrics" | awk '/^modelgate_backend_batch_size_sum/ {s = $2}
    /^modelgate_backend_batch_size_count/ {c = $2} END {print s + 0, c + 0}'
}
variant_name() { if [ "$1" = none ]; then echo fp32; else echo "$1"; fi; }

# Starts `modelgate-backend serve` with the given arguments on a free port, pinned like a proxy;
# sets $be_pid and $be_port. Loading and optimizing the model takes seconds: wait up to 60.
start_backend() {
  be_port=$(free_port)
  $pin_proxy "$BACKEND_BIN" serve --listen "127.0.0.1:$be_port" --threads 1 "$@" \
    >"$tmp/backend.log" 2>&1 &
  be_pid=$!; pids+=("$be_pid")
  wait_port "$be_port" 600 "$be_pid"
}

# One classifier row over HTTP ($1 = quantize, then serve arguments): sets h_rps, h_p50, h_p99,
# h_batch (mean rows per model call) and h_cpu (images per second of backend CPU time).
http_classifier() {
  local q=$1 out b0 b1 t0 t1 total; shift
  start_backend --model "$tmp/classifier.pt" --kind classifier --quantize "$q" "$@"
  local url="http://127.0.0.1:$be_port/v2/models/classifier/infer"
  $pin_client wrk -t1 -c32 -d"${warm}s" -s "$tmp/infer.lua" "$url" >/dev/null
  b0=$(batch_sums "$be_port"); t0=$(cpu_ticks "$be_pid")
  out=$($pin_client wrk -t1 -c32 -d"${dur}s" --latency -s "$tmp/infer.lua" "$url")
  t1=$(cpu_ticks "$be_pid"); b1=$(batch_sums "$be_port")
  stop "$be_pid"
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    echo "bench.sh: backend $q $*: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2
    if grep -q "Non-2xx" <<<"$out"; then return 1; fi
  fi
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  h_rps=$(awk '/^Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  h_p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  h_p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  h_batch=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " ");
    if (y[2] > x[2]) printf "%.1f", (y[1] - x[1]) / (y[2] - x[2]) }')
  h_cpu=$(awk -v n="$total" -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (d > 0) printf "%.0f", n / (d / hz) }')
  need_num "classifier $q $*" "$h_rps" "$h_p50" "$h_p99" "$h_batch" "$h_cpu"
}

scenario_backend() {
  local batches="1,2,4,8,16,32,64" fsecs=1 http_variants="none int8 bf16" streams_list="1 8 32"
  # Quick mode has to show the harness works, not to measure: fewer sizes, fp32 only over HTTP.
  local twarm=$warm   # textgen: the Python client takes fractions of a second
  [ "$quick" = 1 ] && { batches="1,8,32"; fsecs=0.2; http_variants="none"; twarm=0.5; }
  "$BACKEND_BIN" make-model --kind classifier --out "$tmp/classifier.pt" --steps 0 --threads 1 >&2
  "$BACKEND_BIN" make-model --kind textgen --out "$tmp/textgen.pt" --steps 0 --threads 1 >&2
  # One image as a KServe v2 body (85 KB of JSON), posted by wrk.
  python3 -c "
import json, random; random.seed(1)
print(json.dumps({'inputs': [{'name': 'input', 'shape': [1, 3, 64, 64], 'datatype': 'FP32',
  'data': [round(random.random(), 3) for _ in range(3 * 64 * 64)]}]}))" > "$tmp/infer1.json"
  cat > "$tmp/infer.lua" <<EOF
local f = assert(io.open("$tmp/infer1.json", "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
EOF
  echo
  echo "### 6. modelgate-backend (no proxy; backend \`--threads 1\` on core 0, client on core 1)"
  echo
  echo "Demo models made with \`make-model --steps 0\`. Load average before: $(load_now)."
  echo
  echo "**6a. The model alone** (\`bench-forward\`: calls in a loop, ${fsecs} s per batch size, no"
  echo "HTTP): images per second of CPU time, median ms per call in brackets."
  echo
  local q b i n f_cpu1 fb fbb
  declare -A f_one=() f_best=()
  printf '| variant |'; for b in ${batches//,/ }; do printf ' batch %s |' "$b"; done; echo ' best |'
  printf '|---|'; for b in ${batches//,/ }; do printf -- '---|'; done; echo '---|'
  for q in none int8 bf16; do
    $pin_proxy "$BACKEND_BIN" bench-forward --model "$tmp/classifier.pt" --quantize "$q" \
      --batches "$batches" --seconds "$fsecs" --threads 1 >"$tmp/fwd_$q.json" 2>>"$tmp/backend.log"
    printf '| %s |' "$(variant_name "$q")"
    n=$(jget "$tmp/fwd_$q.json" 'len(d["results"])')
    for ((i = 0; i < n; i++)); do
      printf ' %s |' "$(jget "$tmp/fwd_$q.json" "'%.0f (%.2f)' % (d['results'][$i]['rows_per_cpu_s'], d['results'][$i]['ms_median'])")"
    done
    f_cpu1=$(jget "$tmp/fwd_$q.json" '"%.0f" % d["results"][0]["rows_per_cpu_s"]')
    fb=$(jget "$tmp/fwd_$q.json" '"%.0f" % d["best"]["rows_per_cpu_s"]')
    fbb=$(jget "$tmp/fwd_$q.json" 'd["best"]["batch"]')
    need_num "forward $q" "$f_cpu1" "$fb" "$fbb"
    f_one[$q]=$f_cpu1; f_best[$q]=$fb
    echo " $fb at $fbb |"
  done

  echo
  echo "**6b. Classifier over HTTP** (wrk -t1 -c32 ${dur}s after ${warm}s, one image per request):"
  echo "\`--max-batch 1\` against \`--max-batch 32 --max-delay-us 2000\`; the last two columns compare"
  echo "images per CPU second with 6a. Load average before: $(load_now)."
  echo
  echo "| variant | server | req/s | p50 / p99 ms | mean batch | images per CPU s | vs model at batch 1 | vs model at best batch |"
  echo "|---|---|---|---|---|---|---|---|"
  local mode
  for q in $http_variants; do
    for mode in "--max-batch 1" "--max-batch 32 --max-delay-us 2000"; do
      # shellcheck disable=SC2086  # $mode is two or four words on purpose
      http_classifier "$q" $mode
      echo "| $(variant_name "$q") | \`$mode\` | $h_rps | $h_p50 / $h_p99 | $h_batch | $h_cpu |" \
        "$(awk -v a="$h_cpu" -v b="${f_one[$q]}" 'BEGIN { printf "%.2f", a / b }') |" \
        "$(awk -v a="$h_cpu" -v b="${f_best[$q]}" 'BEGIN { printf "%.2f", a / b }') |"
    done
  done

  local s r tps per t50 t99 tcpu raw
  echo
  echo "**6c. Textgen** (untrained byte-level GRU, fp32): S concurrent streamed completions"
  echo "(\`scripts/bench/textgen_streams.py\`: 256 tokens each, a new one when one ends, counted over"
  echo "${dur} s after ${twarm} s) against \`serve --max-batch 32\` (continuous batching), next to"
  echo "\`bench-forward --kind textgen\` (decode steps of S sequences in a loop, ${fsecs} s each)."
  echo "Load average before: $(load_now)."
  echo
  echo "| streams | tokens/s | per stream | first token p50 / p99 ms | tokens per CPU s | step loop tokens per CPU s | HTTP / step loop |"
  echo "|---|---|---|---|---|---|---|"
  $pin_proxy "$BACKEND_BIN" bench-forward --model "$tmp/textgen.pt" --kind textgen \
    --batches "${streams_list// /,}" --seconds "$fsecs" --threads 1 >"$tmp/fwd_text.json" 2>>"$tmp/backend.log"
  start_backend --model "$tmp/textgen.pt" --kind textgen --name textgen --max-batch 32
  i=0
  for s in $streams_list; do
    r=$($pin_client python3 "$root/scripts/bench/textgen_streams.py" "$be_port" "$s" "$dur" "$twarm" 256 "$be_pid")
    read -r tps per t50 t99 _ tcpu <<<"$r"
    raw=$(jget "$tmp/fwd_text.json" "'%.0f' % d['results'][$i]['rows_per_cpu_s']")
    need_num "textgen $s streams" "$tps" "$per" "$tcpu" "$raw"
    echo "| $s | $tps | $per | $t50 / $t99 | $tcpu | $raw | $(awk -v a="$tcpu" -v b="$raw" 'BEGIN { printf "%.2f", a / b }') |"
    i=$((i + 1))
  done
  stop "$be_pid"
  echo
  echo "Load average after: $(load_now)."
}
