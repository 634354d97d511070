#include "backend/batching/sampler.hpp"

#include <cmath>
#include <limits>
#include <vector>

namespace modelgate::backend {
namespace {
bool allowed(std::size_t token) { return token == '\n' || (token >= 32 && token < 127); }
}  // namespace

std::int64_t sample_token(std::span<const float> logits, double temperature,
                          std::mt19937_64& rng) {
  std::size_t best = ' ';
  for (std::size_t i = 0; i < logits.size(); ++i)
    if (allowed(i) && logits[i] > logits[best]) best = i;
  if (temperature <= 0) return static_cast<std::int64_t>(best);
  // Softmax relative to the best logit, so exp never overflows.
  std::vector<double> p(logits.size(), 0.0);
  double total = 0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    if (!allowed(i)) continue;
    p[i] = std::exp((logits[i] - logits[best]) / temperature);
    total += p[i];
  }
  double u = std::uniform_real_distribution<double>(0.0, total)(rng);
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (u < p[i]) return static_cast<std::int64_t>(i);
    u -= p[i];
  }
  return static_cast<std::int64_t>(best);
}

}  // namespace modelgate::backend
