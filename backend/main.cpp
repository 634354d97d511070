// modelgate-backend: command line only. make-model, eval, bench-forward and serve.

#include "backend/api/listen_fds.hpp"
#include "backend/api/server.hpp"
#include "backend/model/forward_bench.hpp"
#include "backend/model/io_config.hpp"
#include "backend/model/maker.hpp"
#include "backend/model/model.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <sys/types.h>

#include <iostream>
#include <optional>
#include <thread>

#ifdef MODELGATE_JEMALLOC
// jemalloc reads this at start-up (MALLOC_CONF in the environment overrides it). Freed pages
// stay mapped for a few seconds, so back-to-back calls reuse them instead of page-faulting their
// tensors again, then a background thread returns them: after a large request the process
// shrinks back even when no further request comes (which is when jemalloc would otherwise
// purge). muzzy_decay_ms:0 purges with MADV_DONTNEED, which lowers RSS at once (MADV_FREE pages
// count until the kernel needs them).
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0";
int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp, std::size_t newlen);
}
#endif

namespace mb = modelgate::backend;

namespace {

struct serve_options {
  std::string model, kind, listen, name, quantize = "none", config;
  std::optional<mb::passed_socket> listen_fd;  // passed by the parent (LISTEN_FDS)
  std::size_t max_batch = 16, max_queue = 256;
  long max_delay_us = 2000;
  unsigned workers = 1;
};

// The allocator settings in effect, so that the log shows whether malloc_conf took.
void log_allocator() {
#ifdef MODELGATE_JEMALLOC
  ssize_t dirty = 0;
  bool background = false;
  std::size_t len = sizeof dirty;
  if (mallctl("opt.dirty_decay_ms", &dirty, &len, nullptr, 0) != 0) return;
  len = sizeof background;
  if (mallctl("background_thread", &background, &len, nullptr, 0) != 0) return;
  spdlog::info("jemalloc: dirty_decay_ms {}, background_thread {}", dirty, background);
#endif
}

int serve(const serve_options& o) {
  const auto at = mb::parse_listen(o.listen);
  log_allocator();
  mb::load_options load;
  load.quantize = mb::parse_quantize(o.quantize);
  if (!o.config.empty()) load.io = mb::load_io_config(o.config);
  mb::backend_metrics metrics;
  mb::server_context ctx;
  ctx.name = o.name.empty() ? o.kind : o.name;
  ctx.metrics = &metrics;
  ctx.created = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (o.kind == "classifier") {
    auto model = mb::load_tensor_model(o.model, load);
    spdlog::info("input '{}' [{}], output '{}' [{}]", model->input().name,
                 fmt::join(model->input().shape, ","), model->output().name,
                 fmt::join(model->output().shape, ","));
    mb::tensor_worker worker(
        *model, {o.max_batch, std::chrono::microseconds(o.max_delay_us), o.max_queue}, o.workers,
        metrics);
    ctx.kind = mb::model_kind::classifier;
    ctx.model = model.get();
    ctx.tensors = &worker;
    const int rc = mb::serve_http(ctx, at, o.listen_fd);
    worker.join();
    return rc;
  }
  if (o.kind == "textgen") {
    auto model = mb::load_text_model(o.model, load);
    auto* m = model.get();
    mb::decode_loop loop([m](std::span<const std::int64_t> t, std::span<float> s,
                             std::span<float> l) { m->step(t, s, l); },
                         m->state_size(), mb::text_model::vocab, o.max_batch, o.max_queue, metrics);
    ctx.kind = mb::model_kind::textgen;
    ctx.text = &loop;
    const int rc = mb::serve_http(ctx, at, o.listen_fd);
    loop.join();
    return rc;
  }
  throw std::runtime_error("--kind must be classifier or textgen, not '" + o.kind + "'");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelgate-backend: a libtorch model server with dynamic batching"};
  app.require_subcommand(1);
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  mb::make_options make;
  auto* make_cmd = app.add_subcommand("make-model", "Build, train and save a demo TorchScript model");
  make_cmd->add_option("--kind", make.kind, "classifier or textgen")->required();
  make_cmd->add_option("--out", make.out, "Output .pt path")->required();
  make_cmd->add_option("--seed", make.seed, "Seed (the same seed gives the same model)");
  make_cmd->add_option("--steps", make.steps, "Training steps (default: a few seconds' worth)");
  make_cmd->add_option("--train-on", make.train_on, "textgen: train on this text file");
  make_cmd->add_option("--threads", threads, "libtorch intra-op threads");

  std::string eval_model;
  int heldout = 1000, runs = 30;
  auto* eval_cmd = app.add_subcommand(
      "eval", "Measure a classifier's fp32, int8 and bf16 variants on the held-out set (JSON)");
  eval_cmd->add_option("--model", eval_model, "A classifier made by make-model")->required();
  eval_cmd->add_option("--heldout", heldout, "Held-out images");
  eval_cmd->add_option("--runs", runs, "Timed runs per latency figure");
  eval_cmd->add_option("--threads", threads, "libtorch intra-op threads");

  mb::forward_bench_options fb;
  std::string fb_quantize = "none";
  auto* fb_cmd = app.add_subcommand(
      "bench-forward", "Time the model's own calls at each batch size, without HTTP (JSON)");
  fb_cmd->add_option("--model", fb.model, "TorchScript file")->required();
  fb_cmd->add_option("--kind", fb.kind, "classifier (rows per call) or textgen (sequences per step)");
  fb_cmd->add_option("--quantize", fb_quantize, "none, int8 or bf16");
  fb_cmd->add_option("--batches", fb.batches, "Batch sizes (default 1,2,4,8,16,32,64)")
      ->delimiter(',');
  fb_cmd->add_option("--seconds", fb.seconds, "Timed seconds per batch size")
      ->check(CLI::Range(0.0, 600.0));
  fb_cmd->add_option("--threads", threads, "libtorch intra-op threads");

  serve_options so;
  auto* serve_cmd = app.add_subcommand("serve", "Serve a TorchScript model over HTTP");
  serve_cmd->add_option("--model", so.model, "TorchScript file")->required();
  serve_cmd->add_option("--kind", so.kind, "classifier (tensor in, tensor out) or textgen")
      ->required();
  serve_cmd->add_option("--listen", so.listen, "HOST:PORT (port 0: any free port)")->required();
  serve_cmd->add_option("--name", so.name, "Model name in URLs (default: the kind)");
  serve_cmd->add_option("--max-batch", so.max_batch,
                        "Rows per model call (a larger request is cut into parts), or decoding "
                        "sequences per step")
      ->check(CLI::Range(1, 4096));
  serve_cmd->add_option("--max-delay-us", so.max_delay_us,
                        "Longest wait of a request for a fuller batch")
      ->check(CLI::Range(0L, 10'000'000L));
  serve_cmd->add_option("--max-queue", so.max_queue,
                        "Rows (classifier) or sequences (textgen) waiting before 503; a request "
                        "of more rows gets 413")
      ->check(CLI::Range(1, 1'000'000));
  serve_cmd->add_option("--threads", threads, "libtorch intra-op threads");
  serve_cmd->add_option("--workers", so.workers, "Inference worker threads (classifier)")
      ->check(CLI::Range(1, 64));
  serve_cmd->add_option("--quantize", so.quantize, "none, int8 or bf16");
  serve_cmd->add_option("--config", so.config, "YAML with input/output names and shapes");

  CLI11_PARSE(app, argc, argv);
  spdlog::set_default_logger(spdlog::stderr_color_mt("backend"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  try {
    // First, while no thread runs and no file is open: it edits the environment.
    so.listen_fd = mb::take_listen_fds();
    mb::set_torch_threads(threads);
    if (*make_cmd) {
      std::cout << mb::make_model(make) << "\n";
      return 0;
    }
    if (*serve_cmd) return serve(so);
    if (*fb_cmd) {
      fb.quantize = mb::parse_quantize(fb_quantize);
      std::cout << mb::forward_report_json(fb, threads, mb::bench_forward(fb)) << "\n";
      return 0;
    }
    if (*eval_cmd) {
      auto reports = mb::evaluate_classifier(eval_model, heldout, runs);
      std::cout << "[\n";
      for (std::size_t i = 0; i < reports.size(); ++i) {
        const auto& r = reports[i];
        std::cout << fmt::format(
            "  {{\"variant\": \"{}\", \"bytes\": {}, \"accuracy\": {:.2f}, \"agreement\": {:.2f}, "
            "\"ms_batch1\": {:.3f}, \"ms_batch16\": {:.3f}}}{}\n",
            r.name, r.bytes, r.accuracy, r.agreement, r.ms_batch1, r.ms_batch16,
            i + 1 < reports.size() ? "," : "");
      }
      std::cout << "]\n";
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "modelgate-backend: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
