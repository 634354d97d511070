#pragma once
// Smooth weighted round robin (nginx's algorithm): every pick adds each candidate's weight to its
// running score, takes the highest, and subtracts the total from it. Weights 5,1,1 give
// a a b a c a a rather than a a a a a b c. Pure; one instance per worker thread (not thread-safe).

#include <cstdint>
#include <optional>
#include <vector>

namespace modelgate::proxy {

class round_robin {
 public:
  explicit round_robin(std::vector<std::uint32_t> weights)
      : weights_(std::move(weights)), current_(weights_.size(), 0) {}

  /// Next backend index among those `eligible(i)` accepts; nullopt when none does.
  template <class Eligible>
  std::optional<std::size_t> pick(Eligible&& eligible) {
    std::int64_t total = 0;
    std::optional<std::size_t> best;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
      if (!eligible(i)) continue;
      current_[i] += weights_[i];
      total += weights_[i];
      if (!best || current_[i] > current_[*best]) best = i;
    }
    if (best) current_[*best] -= total;
    return best;
  }

  std::size_t size() const noexcept { return weights_.size(); }

 private:
  std::vector<std::uint32_t> weights_;
  std::vector<std::int64_t> current_;
};

}  // namespace modelgate::proxy
