#pragma once
// The demo text generator as TorchScript built from C++: a byte-level GRU (vocab 256) with a
// `step` method for batched decoding, and a short training loop. Torch translation units only.

#include <torch/script.h>

#include <cstdint>
#include <string>

namespace modelgate::backend::textgen_net {

inline constexpr std::int64_t layers = 2;
inline constexpr std::int64_t hidden = 192;

/// A fresh model, deterministic for a seed. Methods:
///   step(tok: [B] long, h: [L, B, H]) -> (logits [B, 256], h')
///   forward(x: [B, T] long, h: [L, B, H]) -> (logits [B, T, 256], h')
/// Attributes `num_layers` and `hidden_size` give the state shape.
torch::jit::Module build(std::uint64_t seed);

/// Teacher-forced training on random windows of `text` for `steps` Adam steps.
void train(torch::jit::Module& m, const std::string& text, std::uint64_t seed, int steps);

/// A few paragraphs used when no --train-on file is given.
const std::string& builtin_corpus();

}  // namespace modelgate::backend::textgen_net
