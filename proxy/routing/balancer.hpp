#pragma once
// One worker's picker for one pool: applies the pool's policy (round_robin, consistent_hash with
// bounded loads, least_queue) to the backends that may take a request now. Reads the shared
// pool_live counters; keeps its own round-robin scores and random generator, so it is used from
// its worker's thread only.

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/routing/round_robin.hpp"

#include <bitset>
#include <optional>
#include <random>
#include <vector>

namespace modelgate::proxy {

using backend_set = std::bitset<config::max_backends_per_pool>;

struct pick_result {
  enum class outcome { picked, exhausted, no_healthy_backend, circuit_open };
  outcome what = outcome::exhausted;
  std::size_t backend = 0;
};

/// What pick() does when no backend of the pool is healthy: what the pool's `panic` setting
/// says, or report no_healthy_backend so that a route's fallback pool serves instead.
enum class when_none_healthy { pool_setting, report };

class balancer {
 public:
  balancer(pool_live& live, std::uint64_t seed);

  /// Picks a backend outside `tried`. `key_hash` is the request's hash key (consistent_hash);
  /// without one a consistent_hash pool falls back to least_queue.
  pick_result pick(std::optional<std::uint64_t> key_hash, const backend_set& tried,
                   pool_live::clock::time_point now,
                   when_none_healthy none_healthy = when_none_healthy::pool_setting);

 private:
  std::optional<std::size_t> pick_hashed(std::uint64_t h, const backend_set& allowed);
  std::optional<std::size_t> pick_least_queue(const backend_set& allowed, pool_live::clock::time_point now);

  pool_live& live_;
  round_robin rr_;
  std::mt19937_64 rng_;
  std::vector<std::size_t> scratch_;  // eligible indexes, reused across picks
};

}  // namespace modelgate::proxy
