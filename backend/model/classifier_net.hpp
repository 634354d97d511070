#pragma once
// The demo image classifier as TorchScript built from C++: fp32, bf16 and int8 variants of one
// network, and its training loop. Torch translation units only.

#include "backend/model/model.hpp"

#include <torch/script.h>

#include <cstdint>
#include <map>
#include <string>

namespace modelgate::backend::classifier_net {

using weights = std::map<std::string, at::Tensor>;

/// Marker attribute that tells the loader a module is our classifier (so it can be quantized).
inline constexpr const char* kind_attribute = "modelgate_kind";

/// Fresh He-initialised weights, deterministic for a seed.
weights init(std::uint64_t seed);

/// The weights of a module built by build(quantize_mode::none).
weights read(const torch::jit::Module& m);

/// A module for these weights. int8: the fully connected layers (94 % of the weights) become
/// prepacked per-channel int8 for quantized::linear_dynamic; bf16: every tensor in bfloat16
/// (the input is cast on entry, the output back to float).
torch::jit::Module build(const weights& w, quantize_mode q);

/// Trains `m` (built from fp32 weights) for `steps` Adam steps on fresh procedural images.
void train(torch::jit::Module& m, std::uint64_t seed, int steps);

/// Top-1 labels for CHW FP32 images, in batches of 256.
std::vector<std::int64_t> predict(torch::jit::Module& m, const std::vector<float>& pixels,
                                  int count);

}  // namespace modelgate::backend::classifier_net
