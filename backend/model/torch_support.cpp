#include "backend/model/torch_support.hpp"

#include <spdlog/spdlog.h>
#include <torch/csrc/jit/frontend/sugared_value.h>

#include <sstream>

namespace modelgate::backend::torch_support {
namespace {

namespace jit = torch::jit;

// `ops` itself: its attributes are operator namespaces.
struct ops_namespace : jit::SugaredValue {
  std::string kind() const override { return "ops"; }
  std::shared_ptr<jit::SugaredValue> attr(const jit::SourceRange&, jit::GraphFunction&,
                                          const std::string& ns) override {
    return std::make_shared<jit::BuiltinModule>(ns);
  }
};

struct resolver : jit::Resolver {
  std::shared_ptr<jit::SugaredValue> resolveValue(const std::string& name, jit::GraphFunction&,
                                                  const jit::SourceRange&) override {
    if (name == "torch") return std::make_shared<jit::BuiltinModule>("aten");
    if (name == "ops") return std::make_shared<ops_namespace>();
    return nullptr;
  }
  c10::TypePtr resolveType(const std::string&, const jit::SourceRange&) override {
    return nullptr;
  }
};

}  // namespace

std::shared_ptr<torch::jit::Resolver> ops_resolver() { return std::make_shared<resolver>(); }

c10::IValue prepack_linear_int8(const at::Tensor& weight, const at::Tensor& bias) {
  auto w = weight.detach().to(at::kFloat).contiguous();
  // Symmetric per output channel: scale = max |w| / 127.
  auto scales = (w.abs().amax({1}) / 127.0).clamp_min(1e-8).to(at::kDouble);
  auto zeros = torch::zeros({w.size(0)}, at::kLong);
  auto wq = at::quantize_per_channel(w, scales, zeros, 0, at::kQInt8);
  auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::linear_prepack", "");
  torch::jit::Stack stack{wq, bias.detach().to(at::kFloat).contiguous()};
  op.callBoxed(&stack);
  return stack.at(0);
}

std::size_t saved_bytes(const torch::jit::Module& m) {
  std::ostringstream out;
  m.save(out);
  return out.str().size();
}

torch::jit::Module optimize(torch::jit::Module m, const std::vector<std::string>& methods) {
  m.eval();
  try {
    auto frozen = torch::jit::freeze(m, methods);
    return torch::jit::optimize_for_inference(frozen, methods);
  } catch (const std::exception& e) {
    spdlog::warn("optimize_for_inference does not apply ({}); serving the module as loaded",
                 std::string(e.what()).substr(0, 200));
    return m;
  }
}

}  // namespace modelgate::backend::torch_support
