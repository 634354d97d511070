#pragma once
// Picking the next byte from a text model's logits. Only printable ASCII and newline may be
// generated, so every token is valid UTF-8 on its own and can go out as one SSE event.

#include <cstdint>
#include <random>
#include <span>

namespace modelgate::backend {

/// temperature <= 0: argmax (deterministic); otherwise a draw from softmax(logits / t) with `rng`.
std::int64_t sample_token(std::span<const float> logits, double temperature, std::mt19937_64& rng);

}  // namespace modelgate::backend
