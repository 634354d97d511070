#include "proxy/routing/hash_ring.hpp"

#include "proxy/routing/hash.hpp"

#include <algorithm>

namespace modelgate::proxy {

hash_ring::hash_ring(const std::vector<std::string>& names, const std::vector<std::uint32_t>& weights)
    : backends_(names.size()) {
  std::size_t total = 0;
  for (auto w : weights) total += std::size_t{w} * points_per_weight;
  points_.reserve(total);
  std::string key;
  for (std::size_t b = 0; b < names.size(); ++b) {
    for (std::uint32_t k = 0; k < weights[b] * points_per_weight; ++k) {
      key.assign(names[b]).append("#").append(std::to_string(k));
      points_.emplace_back(hash64(key), static_cast<std::uint32_t>(b));
    }
  }
  // Ties (astronomically rare) are broken by backend index so the ring is the same everywhere.
  std::sort(points_.begin(), points_.end());
}

std::size_t hash_ring::start(std::uint64_t hash) const {
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const auto& p, std::uint64_t h) { return p.first < h; });
  return it == points_.end() ? 0 : static_cast<std::size_t>(it - points_.begin());
}

std::optional<std::size_t> hash_ring::pick(std::uint64_t hash, std::uint32_t attempt) const {
  std::uint32_t n = 0;
  return pick_first(hash, [&](std::size_t) { return n++ == attempt; });
}

}  // namespace modelgate::proxy
