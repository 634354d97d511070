#pragma once
// A reproducible, skewed request stream for bounded-load tests: keys drawn from a Zipf-like
// distribution (P(rank k) ∝ 1 / k^s) and random arrivals/departures, from a seeded mt19937_64.
// Only the engine's raw output is used (its sequence is fixed by the standard), never a
// std::*_distribution, so every standard library draws the same stream.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace modelgate::test {

class skewed_keys {
 public:
  skewed_keys(std::size_t distinct, double exponent, std::uint64_t seed) : rng_(seed) {
    cdf_.reserve(distinct);
    double sum = 0;
    for (std::size_t k = 1; k <= distinct; ++k) cdf_.push_back(sum += 1.0 / std::pow(double(k), exponent));
    for (auto& c : cdf_) c /= sum;
  }

  /// Uniform in [0, 1) from the top 53 bits of one draw.
  double uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }
  std::uint64_t raw() { return rng_(); }

  /// The rank of the next key: 0 is the hottest.
  std::size_t next_rank() {
    auto it = std::upper_bound(cdf_.begin(), cdf_.end(), uniform());
    return std::min<std::size_t>(static_cast<std::size_t>(it - cdf_.begin()), cdf_.size() - 1);
  }
  std::string next_key() { return "session-" + std::to_string(next_rank()); }

  /// The share of requests that carry the hottest key.
  double hottest_share() const { return cdf_.front(); }

 private:
  std::mt19937_64 rng_;
  std::vector<double> cdf_;
};

}  // namespace modelgate::test
