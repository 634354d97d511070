#pragma once
// bench-forward: the model's own throughput, without HTTP, JSON or queues: a loop of model calls
// at each batch size, through the same tensor_model / text_model the server uses (so quantizing,
// freezing and the copies in and out are included). The ceiling for scripts/bench.sh scenario 6.
// Torch-free: it only sees the interfaces of model.hpp.

#include "backend/model/model.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace modelgate::backend {

struct forward_bench_options {
  std::filesystem::path model;
  std::string kind = "classifier";  // classifier: run(); textgen: step() of `batch` sequences
  quantize_mode quantize = quantize_mode::none;
  std::vector<std::int64_t> batches = {1, 2, 4, 8, 16, 32, 64};
  double seconds = 1.0;  // timed calls per batch size (at least min_calls), after warm_up_calls
  int warm_up_calls = 3;
  int min_calls = 5;
};

/// One batch size: `calls` timed calls of `batch` rows (or sequences) each.
struct forward_point {
  std::int64_t batch = 0;
  std::uint64_t calls = 0;
  double ms_median = 0;    // median wall time of one call
  double rows_per_s = 0;   // batch × calls / total wall time (textgen: tokens/s)
  double rows_per_cpu_s = 0;  // batch × calls / the process's CPU time over the same calls:
                              // what a core gives when nothing else wants it (loaded machines)
};

/// Loads the model as `serve` would and times it at every batch size. Throws std::runtime_error
/// on a bad kind, batch size or model (the loader's reasons).
std::vector<forward_point> bench_forward(const forward_bench_options& o);

/// {"kind", "quantize", "threads", "seconds", "results": [{batch, calls, ms_median, rows_per_s,
///  rows_per_cpu_s}], "best": {batch, rows_per_s, rows_per_cpu_s}} on one line; best is the
/// batch size with the most rows per CPU second.
std::string forward_report_json(const forward_bench_options& o, int threads,
                                const std::vector<forward_point>& points);

}  // namespace modelgate::backend
