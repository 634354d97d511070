#pragma once
// Consistent hashing (ketama style): each backend owns `points_per_weight × weight` points on a
// 64-bit ring at hash64("<name>#<k>"); a key belongs to the first point clockwise from its hash.
// Removing one of n backends moves only the keys it owned (about 1/n). Immutable once built, so
// every worker reads the same ring without locks.

#include "config/config.hpp"

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace modelgate::proxy {

class hash_ring {
 public:
  static constexpr std::uint32_t points_per_weight = 160;

  /// `names[i]` (e.g. "10.0.0.1:9001") and `weights[i]` describe backend i.
  hash_ring(const std::vector<std::string>& names, const std::vector<std::uint32_t>& weights);

  std::size_t backends() const noexcept { return backends_; }
  std::size_t points() const noexcept { return points_.size(); }

  /// The `attempt`-th distinct backend met walking clockwise from `hash` (attempt 0 is the
  /// owner); nullopt when attempt >= backends(). A retry asks for attempt + 1.
  std::optional<std::size_t> pick(std::uint64_t hash, std::uint32_t attempt = 0) const;

  /// The first backend clockwise from `hash` that `accept(i)` takes, visiting each backend once
  /// (its first point); nullopt when none does. `accept` decides health, bounded load, retries.
  template <class Accept>
  std::optional<std::size_t> pick_first(std::uint64_t hash, Accept&& accept) const {
    if (points_.empty()) return std::nullopt;
    std::bitset<config::max_backends_per_pool> seen;
    std::size_t visited = 0;
    for (std::size_t i = start(hash), n = 0; n < points_.size() && visited < backends_; ++n) {
      auto b = points_[i].second;
      if (!seen[b]) {
        seen[b] = true;
        ++visited;
        if (accept(std::size_t{b})) return b;
      }
      if (++i == points_.size()) i = 0;
    }
    return std::nullopt;
  }

 private:
  std::size_t start(std::uint64_t hash) const;

  std::vector<std::pair<std::uint64_t, std::uint32_t>> points_;  // sorted by position
  std::size_t backends_;
};

/// Bounded loads (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads",
/// 2016): with `total` requests in flight across the pool, backend i may hold at most
/// ceil(c × (total + 1) × weight_i / total_weight), counting the request being placed.
/// Example: c = 1.25, four equal backends, 10 in flight: ceil(1.25 × 11 / 4) = ceil(3.44) = 4, so
/// a backend already holding 4 passes the request on along the ring.
inline std::uint64_t bounded_capacity(double c, std::uint64_t total_in_flight, std::uint32_t weight,
                                      std::uint64_t total_weight) {
  double cap = c * static_cast<double>(total_in_flight + 1) * weight / static_cast<double>(total_weight);
  auto whole = static_cast<std::uint64_t>(cap);
  return whole + (static_cast<double>(whole) < cap ? 1 : 0);
}

}  // namespace modelgate::proxy
