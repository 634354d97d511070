// Loading TorchScript for serving: quantize on request, optimise for inference, find the I/O
// shapes, and wrap the module behind the torch-free tensor_model / text_model interfaces.

#include "backend/model/classifier_net.hpp"
#include "backend/model/model.hpp"
#include "backend/model/torch_support.hpp"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace modelgate::backend {
namespace {

std::string kind_of(const torch::jit::Module& m) {
  if (!m.hasattr(classifier_net::kind_attribute)) return "";
  return m.attr(classifier_net::kind_attribute).toStringRef();
}

class torch_tensor_model final : public tensor_model {
 public:
  torch_tensor_model(torch::jit::Module m, bool cast_bf16, const io_override& io)
      : cast_bf16_(cast_bf16) {
    if (io.input) {
      in_ = *io.input;
    } else if (m.hasattr("input_shape")) {
      in_.name = "input";
      for (auto d : m.attr("input_shape").toIntList()) in_.shape.push_back(d);
    } else {
      throw std::runtime_error(
          "the model does not say its input shape: give --config with input: {name, shape}");
    }
    if (in_.shape.empty()) throw std::runtime_error("the input shape needs a batch dimension");
    in_.shape[0] = -1;
    // Attributes are read first: freezing folds them into the graph.
    m_ = torch_support::optimize(std::move(m), {});
    // A first trial run with one zero row checks the model and tells the output shape.
    std::vector<float> zeros(static_cast<std::size_t>(in_.row_size()), 0.0f);
    at::Tensor y;
    try {
      y = torch_support::plain_errors("", [&] { return forward(zeros, 1); });
    } catch (const std::exception& e) {  // also the interpreter's JITException
      throw std::runtime_error(fmt::format("a trial run with input shape [1,{}] failed: {}",
                                           fmt::join(in_.shape.begin() + 1, in_.shape.end(), ","),
                                           e.what()));
    }
    out_.name = io.output ? io.output->name : "output";
    out_.shape.assign(y.sizes().begin(), y.sizes().end());
    out_.shape[0] = -1;
    // Only a name given: the trial run's shape stands.
    if (io.output && !io.output->shape.empty() && io.output->row_size() != out_.row_size())
      throw std::runtime_error("--config output shape does not match the model's output");
  }

  const tensor_spec& input() const override { return in_; }
  const tensor_spec& output() const override { return out_; }

  std::vector<float> run(std::span<const float> rows, std::int64_t batch) override {
    auto y = forward(rows, batch);
    return {y.data_ptr<float>(), y.data_ptr<float>() + y.numel()};
  }

 private:
  at::Tensor forward(std::span<const float> rows, std::int64_t batch) {
    torch::InferenceMode guard;
    std::vector<std::int64_t> shape = in_.shape;
    shape[0] = batch;
    auto x = torch::from_blob(const_cast<float*>(rows.data()), shape);
    if (cast_bf16_) x = x.to(at::kBFloat16);
    auto out = m_.forward({x});
    at::Tensor y = out.isTuple() ? out.toTuple()->elements().at(0).toTensor() : out.toTensor();
    return y.to(at::kFloat).contiguous();
  }

  torch::jit::Module m_;
  bool cast_bf16_;
  tensor_spec in_, out_;
};

class torch_text_model final : public text_model {
 public:
  torch_text_model(torch::jit::Module m, bool bf16) : bf16_(bf16) {
    if (!m.hasattr("num_layers") || !m.hasattr("hidden_size") || !m.find_method("step"))
      throw std::runtime_error(
          "a textgen model needs int attributes num_layers, hidden_size and a method "
          "step(tok: [B] long, h: [L, B, H]) -> (logits [B, 256], h)");
    layers_ = m.attr("num_layers").toInt();
    hidden_ = m.attr("hidden_size").toInt();
    m_ = torch_support::optimize(std::move(m), {"step"});
  }

  std::int64_t state_size() const override { return layers_ * hidden_; }

  void step(std::span<const std::int64_t> tokens, std::span<float> states,
            std::span<float> logits) override {
    torch::InferenceMode guard;
    const auto b = static_cast<std::int64_t>(tokens.size());
    auto tok = torch::from_blob(const_cast<std::int64_t*>(tokens.data()), {b}, at::kLong);
    auto h = torch::from_blob(states.data(), {b, layers_, hidden_}).transpose(0, 1).contiguous();
    if (bf16_) h = h.to(at::kBFloat16);
    auto out = m_.get_method("step")({tok, h}).toTuple();
    auto l = out->elements()[0].toTensor().to(at::kFloat).contiguous();
    auto h2 = out->elements()[1].toTensor().to(at::kFloat).transpose(0, 1).contiguous();
    std::memcpy(logits.data(), l.data_ptr<float>(), logits.size() * sizeof(float));
    std::memcpy(states.data(), h2.data_ptr<float>(), states.size() * sizeof(float));
  }

 private:
  torch::jit::Module m_;
  bool bf16_;
  std::int64_t layers_ = 0, hidden_ = 0;
};

torch::jit::Module load_module(const std::filesystem::path& path) {
  try {
    auto m = torch::jit::load(path.string());
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    throw std::runtime_error("cannot load TorchScript from " + path.string() + ": " +
                             e.what_without_backtrace());
  }
}

}  // namespace

std::unique_ptr<tensor_model> load_tensor_model(const std::filesystem::path& path,
                                                const load_options& options) {
  return torch_support::plain_errors(path.string() + ": ", [&] {
    auto m = load_module(path);
    const bool ours = kind_of(m) == "classifier";
    bool cast_bf16 = false;
    switch (options.quantize) {
      case quantize_mode::int8:
        if (!ours)
          throw std::runtime_error("--quantize int8 needs a classifier made by make-model");
        m = classifier_net::build(classifier_net::read(m), quantize_mode::int8);
        break;
      case quantize_mode::bf16:
        if (ours) {
          m = classifier_net::build(classifier_net::read(m), quantize_mode::bf16);
        } else {
          m.to(at::kBFloat16);
          cast_bf16 = true;
        }
        break;
      case quantize_mode::none: break;
    }
    spdlog::info("model {}: {} bytes as saved ({})", path.string(), torch_support::saved_bytes(m),
                 to_string(options.quantize));
    return std::unique_ptr<tensor_model>(
        std::make_unique<torch_tensor_model>(std::move(m), cast_bf16, options.io));
  });
}

std::unique_ptr<text_model> load_text_model(const std::filesystem::path& path,
                                            const load_options& options) {
  return torch_support::plain_errors(path.string() + ": ", [&] {
    auto m = load_module(path);
    if (options.quantize == quantize_mode::int8)
      throw std::runtime_error("--quantize int8 is implemented for the classifier only");
    const bool bf16 = options.quantize == quantize_mode::bf16;
    if (bf16) m.to(at::kBFloat16);
    return std::unique_ptr<text_model>(std::make_unique<torch_text_model>(std::move(m), bf16));
  });
}

void set_torch_threads(int threads) {
  at::set_num_threads(threads);
  at::set_num_interop_threads(1);
}

}  // namespace modelgate::backend
