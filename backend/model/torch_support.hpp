#pragma once
// Helpers shared by the torch translation units (never included outside backend/model/).

#include <torch/script.h>

#include <memory>
#include <string>

namespace modelgate::backend::torch_support {

/// A resolver for TorchScript compiled from C++: `torch.X` means aten::X and `ops.ns.X` means
/// the registered operator ns::X (quantized ops), which the default C++ resolver cannot find.
std::shared_ptr<torch::jit::Resolver> ops_resolver();

/// Per-channel int8 weights of a linear layer, prepacked for quantized::linear_dynamic (oneDNN).
c10::IValue prepack_linear_int8(const at::Tensor& weight, const at::Tensor& bias);

/// Bytes of the module as torch::jit::save would write it.
std::size_t saved_bytes(const torch::jit::Module& m);

/// eval(), then freeze + optimize_for_inference keeping `methods`; the plain eval() module when
/// the optimisation does not apply to this model (it is best effort, never a load failure).
torch::jit::Module optimize(torch::jit::Module m, const std::vector<std::string>& methods);

/// Runs `f`; a c10::Error becomes std::runtime_error(prefix + its message without the C++
/// stack trace), so the command line prints one readable reason.
template <class F>
auto plain_errors(const std::string& prefix, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const c10::Error& e) {
    throw std::runtime_error(prefix + e.what_without_backtrace());
  }
}

}  // namespace modelgate::backend::torch_support
