#include "backend/model/forward_bench.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <random>
#include <stdexcept>

namespace modelgate::backend {
namespace {

using wall = std::chrono::steady_clock;

double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Times `call` for o.seconds (at least o.min_calls times) after o.warm_up_calls untimed ones.
forward_point time_calls(const forward_bench_options& o, std::int64_t batch,
                         const std::function<void()>& call) {
  for (int i = 0; i < o.warm_up_calls; ++i) call();
  std::vector<double> ms;
  const auto start = wall::now();
  const double cpu_start = process_cpu_s();
  const auto budget = std::chrono::duration<double>(o.seconds);
  for (;;) {
    const auto t = wall::now();
    if (ms.size() >= static_cast<std::size_t>(o.min_calls) && t - start >= budget) break;
    call();
    ms.push_back(std::chrono::duration<double, std::milli>(wall::now() - t).count());
  }
  const double total_s = std::chrono::duration<double>(wall::now() - start).count();
  const double cpu_s = process_cpu_s() - cpu_start;
  forward_point p;
  p.batch = batch;
  p.calls = ms.size();
  std::nth_element(ms.begin(), ms.begin() + static_cast<std::ptrdiff_t>(ms.size() / 2), ms.end());
  p.ms_median = ms[ms.size() / 2];
  const double rows = static_cast<double>(batch) * static_cast<double>(ms.size());
  p.rows_per_s = rows / total_s;
  p.rows_per_cpu_s = cpu_s > 0 ? rows / cpu_s : 0;
  return p;
}

}  // namespace

std::vector<forward_point> bench_forward(const forward_bench_options& o) {
  for (auto b : o.batches)
    if (b < 1 || b > 4096) throw std::runtime_error("batch sizes must be 1 to 4096");
  load_options load;
  load.quantize = o.quantize;
  std::vector<forward_point> points;
  std::mt19937 rng(1);
  if (o.kind == "classifier") {
    auto model = load_tensor_model(o.model, load);
    const auto row = static_cast<std::size_t>(model->input().row_size());
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    for (auto b : o.batches) {
      std::vector<float> rows(row * static_cast<std::size_t>(b));
      for (auto& x : rows) x = pixel(rng);
      points.push_back(time_calls(o, b, [&] { model->run(rows, b); }));
    }
  } else if (o.kind == "textgen") {
    auto model = load_text_model(o.model, load);
    for (auto b : o.batches) {
      const auto n = static_cast<std::size_t>(b);
      std::vector<std::int64_t> tokens(n, 'e');
      std::vector<float> states(n * static_cast<std::size_t>(model->state_size()), 0.0f);
      std::vector<float> logits(n * text_model::vocab);
      points.push_back(time_calls(o, b, [&] { model->step(tokens, states, logits); }));
    }
  } else {
    throw std::runtime_error("--kind must be classifier or textgen, not '" + o.kind + "'");
  }
  return points;
}

std::string forward_report_json(const forward_bench_options& o, int threads,
                                const std::vector<forward_point>& points) {
  // Printed by hand (not Boost.JSON) so the figures read as 0.284, not 2.84E-1.
  std::string results;
  const forward_point* best = nullptr;
  for (const auto& p : points) {
    results += fmt::format(R"({}{{"batch":{},"calls":{},"ms_median":{:.3f},)"
                           R"("rows_per_s":{:.1f},"rows_per_cpu_s":{:.1f}}})",
                           results.empty() ? "" : ",", p.batch, p.calls, p.ms_median, p.rows_per_s,
                           p.rows_per_cpu_s);
    if (!best || p.rows_per_cpu_s > best->rows_per_cpu_s) best = &p;
  }
  auto report =
      fmt::format(R"({{"kind":"{}","quantize":"{}","threads":{},"seconds":{},"results":[{}])",
                  o.kind, to_string(o.quantize), threads, o.seconds, results);
  if (best)
    report += fmt::format(R"(,"best":{{"batch":{},"rows_per_s":{:.1f},"rows_per_cpu_s":{:.1f}}})",
                          best->batch, best->rows_per_s, best->rows_per_cpu_s);
  return report + "}";
}

}  // namespace modelgate::backend
