#include "backend/model/maker.hpp"

#include "backend/model/classifier_net.hpp"
#include "backend/model/procedural_images.hpp"
#include "backend/model/textgen_net.hpp"
#include "backend/model/torch_support.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

namespace modelgate::backend {
namespace {

double accuracy(const std::vector<std::int64_t>& pred, const std::vector<std::int64_t>& truth) {
  std::size_t hit = 0;
  for (std::size_t i = 0; i < pred.size(); ++i) hit += pred[i] == truth[i];
  return 100.0 * static_cast<double>(hit) / static_cast<double>(pred.size());
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Greedy continuation of a prompt, to show what the model learned.
std::string sample(torch::jit::Module& m, const std::string& prompt, int n) {
  torch::InferenceMode guard;
  auto h = torch::zeros({textgen_net::layers, 1, textgen_net::hidden});
  auto step = m.get_method("step");
  std::string out;
  at::Tensor logits;
  for (unsigned char c : prompt) {
    auto r = step({torch::tensor({static_cast<std::int64_t>(c)}), h}).toTuple();
    logits = r->elements()[0].toTensor();
    h = r->elements()[1].toTensor();
  }
  for (int i = 0; i < n; ++i) {
    const auto c = logits.argmax(1).item<std::int64_t>();
    out += static_cast<char>(c);
    auto r = step({torch::tensor({c}), h}).toTuple();
    logits = r->elements()[0].toTensor();
    h = r->elements()[1].toTensor();
  }
  return out;
}

double median_ms(torch::jit::Module& m, const at::Tensor& x, int runs) {
  torch::InferenceMode guard;
  // Warm-up: the graph executor profiles and optimises on the first calls.
  for (int i = 0; i < 3; ++i) m.forward({x});
  std::vector<double> t;
  for (int i = 0; i < std::max(1, runs); ++i) {
    auto start = std::chrono::steady_clock::now();
    m.forward({x});
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
  }
  std::nth_element(t.begin(), t.begin() + static_cast<long>(t.size() / 2), t.end());
  return t[t.size() / 2];
}

std::string make_model_impl(const make_options& o) {
  const auto start = std::chrono::steady_clock::now();
  std::ostringstream summary;
  if (o.kind == "classifier") {
    const int steps = o.steps >= 0 ? o.steps : 120;
    auto m = classifier_net::build(classifier_net::init(o.seed), quantize_mode::none);
    classifier_net::train(m, o.seed, steps);
    m.save(o.out.string());
    auto held = heldout_images(500);
    auto pred = classifier_net::predict(m, held.pixels, 500);
    summary << "classifier: " << steps << " steps, held-out accuracy "
            << accuracy(pred, held.labels) << "% on 500 images";
  } else if (o.kind == "textgen") {
    const int steps = o.steps >= 0 ? o.steps : 150;
    auto text = o.train_on.empty() ? textgen_net::builtin_corpus() : read_text(o.train_on);
    auto m = textgen_net::build(o.seed);
    if (steps > 0) textgen_net::train(m, text, o.seed, steps);
    m.save(o.out.string());
    summary << "textgen: " << steps << " steps; greedy sample after 'The ': \""
            << sample(m, "The ", 40) << "\"";
  } else {
    throw std::runtime_error("--kind must be classifier or textgen, not '" + o.kind + "'");
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary << " (" << secs << " s) -> " << o.out.string();
  return summary.str();
}

std::vector<variant_report> evaluate_impl(const std::filesystem::path& model, int heldout,
                                          int latency_runs) {
  if (heldout < 16) throw std::runtime_error("--heldout must be at least 16 (one batch of 16)");
  auto loaded = torch::jit::load(model.string());
  auto w = classifier_net::read(loaded);
  auto held = heldout_images(heldout);
  auto one = torch::from_blob(held.pixels.data(), {1, 3, image_side, image_side});
  auto sixteen = torch::from_blob(held.pixels.data(), {16, 3, image_side, image_side});
  std::vector<variant_report> out;
  std::vector<std::int64_t> fp32_pred;
  for (auto q : {quantize_mode::none, quantize_mode::int8, quantize_mode::bf16}) {
    auto m = classifier_net::build(w, q);
    variant_report r;
    r.name = q == quantize_mode::none ? "fp32" : to_string(q);
    r.bytes = torch_support::saved_bytes(m);
    auto served = torch_support::optimize(m, {});
    auto pred = classifier_net::predict(served, held.pixels, heldout);
    if (q == quantize_mode::none) fp32_pred = pred;
    r.accuracy = accuracy(pred, held.labels);
    r.agreement = accuracy(pred, fp32_pred);
    r.ms_batch1 = median_ms(served, one, latency_runs);
    r.ms_batch16 = median_ms(served, sixteen, latency_runs);
    out.push_back(r);
  }
  return out;
}

}  // namespace

std::string make_model(const make_options& o) {
  return torch_support::plain_errors("make-model: ", [&] { return make_model_impl(o); });
}

std::vector<variant_report> evaluate_classifier(const std::filesystem::path& model, int heldout,
                                                int latency_runs) {
  return torch_support::plain_errors(
      "eval: ", [&] { return evaluate_impl(model, heldout, latency_runs); });
}

}  // namespace modelgate::backend
