#include "backend/model/classifier_net.hpp"

#include "backend/model/procedural_images.hpp"
#include "backend/model/torch_support.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <torch/optim/adam.h>

#include <cmath>

namespace modelgate::backend::classifier_net {
namespace {

// conv 3→16 stride 2 (32x32), conv 16→32 + pool (16x16), conv 32→32 + pool (8x8), fc 2048→128→10.
const std::vector<std::pair<std::string, std::vector<std::int64_t>>> shapes = {
    {"c1_w", {16, 3, 3, 3}},  {"c1_b", {16}},  {"c2_w", {32, 16, 3, 3}}, {"c2_b", {32}},
    {"c3_w", {32, 32, 3, 3}}, {"c3_b", {32}},  {"fc1_w", {128, 2048}},   {"fc1_b", {128}},
    {"fc2_w", {10, 128}},     {"fc2_b", {10}},
};

constexpr const char* features_src = R"JIT(
    x = torch.relu(torch.conv2d(x, self.c1_w, self.c1_b, [2, 2], [1, 1]))
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.c2_w, self.c2_b, [1, 1], [1, 1])), [2, 2])
    x = torch.max_pool2d(torch.relu(torch.conv2d(x, self.c3_w, self.c3_b, [1, 1], [1, 1])), [2, 2])
    x = torch.flatten(x, 1)
)JIT";

constexpr const char* head_fp32 = R"JIT(
    x = torch.relu(torch.linear(x, self.fc1_w, self.fc1_b))
    return torch.linear(x, self.fc2_w, self.fc2_b)
)JIT";

constexpr const char* head_int8 = R"JIT(
    x = ops.quantized.linear_relu_dynamic(x, self.fc1_p, False)
    return ops.quantized.linear_dynamic(x, self.fc2_p, False)
)JIT";

}  // namespace

weights init(std::uint64_t seed) {
  torch::manual_seed(seed);
  weights w;
  for (const auto& [name, shape] : shapes) {
    if (shape.size() == 1) {
      w[name] = torch::zeros(shape);
      continue;
    }
    std::int64_t fan_in = 1;
    for (std::size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    w[name] = torch::randn(shape) * std::sqrt(2.0 / static_cast<double>(fan_in));
  }
  return w;
}

weights read(const torch::jit::Module& m) {
  weights w;
  for (const auto& [name, shape] : shapes) w[name] = m.attr(name).toTensor().detach();
  return w;
}

torch::jit::Module build(const weights& w, quantize_mode q) {
  torch::jit::Module m("DemoClassifier");
  m.register_attribute("training", c10::BoolType::get(), false);
  m.register_attribute(kind_attribute, c10::StringType::get(), std::string("classifier"));
  m.register_attribute("input_shape", c10::ListType::ofInts(),
                       c10::List<std::int64_t>({-1, image_channels, image_side, image_side}));
  const bool int8 = q == quantize_mode::int8;
  const auto dtype = q == quantize_mode::bf16 ? at::kBFloat16 : at::kFloat;
  for (const auto& [name, shape] : shapes) {
    if (int8 && name.starts_with("fc")) continue;
    m.register_parameter(name, w.at(name).detach().to(dtype).clone(), false);
  }
  if (int8) {
    for (const char* layer : {"fc1", "fc2"}) {
      auto packed = torch_support::prepack_linear_int8(w.at(std::string(layer) + "_w"),
                                                       w.at(std::string(layer) + "_b"));
      m.register_attribute(std::string(layer) + "_p", packed.type(), packed);
    }
  }
  std::string src = "def forward(self, x):\n";
  // A script dtype is its ScalarType number: `torch.bfloat16` does not resolve in C++ define().
  if (q == quantize_mode::bf16)
    src += fmt::format("    x = x.to({})\n", static_cast<int>(at::kBFloat16));
  src += features_src;
  if (int8) {
    src += head_int8;
  } else if (q == quantize_mode::bf16) {
    src += "    x = torch.relu(torch.linear(x, self.fc1_w, self.fc1_b))\n"
           "    return torch.linear(x, self.fc2_w, self.fc2_b).float()\n";
  } else {
    src += head_fp32;
  }
  m.define(src, torch_support::ops_resolver());
  return m;
}

void train(torch::jit::Module& m, std::uint64_t seed, int steps) {
  std::vector<at::Tensor> params;
  for (const auto& p : m.parameters()) params.push_back(p);
  for (auto& p : params) p.requires_grad_(true);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  constexpr int batch = 64;
  for (int step = 0; step < steps; ++step) {
    auto data = make_images(seed * 1'000'003 + static_cast<std::uint64_t>(step), batch);
    auto x = torch::from_blob(data.pixels.data(), {batch, image_channels, image_side, image_side});
    auto y = torch::from_blob(data.labels.data(), {batch}, at::kLong);
    auto logits = m.forward({x}).toTensor();
    auto loss = torch::nll_loss(torch::log_softmax(logits, 1), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if ((step + 1) % 50 == 0 || step + 1 == steps)
      spdlog::info("classifier step {}/{}: loss {:.3f}", step + 1, steps, loss.item<double>());
  }
  for (auto& p : params) p.requires_grad_(false);
}

std::vector<std::int64_t> predict(torch::jit::Module& m, const std::vector<float>& pixels,
                                  int count) {
  torch::InferenceMode guard;
  std::vector<std::int64_t> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int start = 0; start < count; start += 256) {
    const int n = std::min(256, count - start);
    auto x = torch::from_blob(const_cast<float*>(pixels.data()) +
                                  static_cast<std::size_t>(start) * image_floats,
                              {n, image_channels, image_side, image_side});
    auto top = m.forward({x}).toTensor().argmax(1);
    for (int i = 0; i < n; ++i) out.push_back(top[i].item<std::int64_t>());
  }
  return out;
}

}  // namespace modelgate::backend::classifier_net
