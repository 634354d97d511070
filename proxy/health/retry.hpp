#pragma once
// Retry decisions: which failures may be retried, how long to wait, and whether the pool's retry
// budget allows one more. Pure; random draws and counts are parameters.

#include "config/config.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace modelgate::proxy {

/// Full-jitter exponential backoff (AWS architecture blog, 2015): uniform in
/// [0, min(max, base × 2^retry)), `draw01` uniform in [0, 1). retry 0 is the first retry.
inline std::chrono::milliseconds retry_backoff(const config::retry_policy& p, unsigned retry,
                                               double draw01) {
  auto cap = std::min<std::int64_t>(p.backoff_max.count(),
                                    p.backoff_base.count() << std::min(retry, 20u));
  return std::chrono::milliseconds(static_cast<std::int64_t>(draw01 * static_cast<double>(cap)));
}

/// Envoy-style retry budget: retries in flight may be at most `budget` × active requests, but
/// always at least 3, so a quiet pool can still retry and a sick busy one cannot storm.
inline bool retry_budget_allows(const config::retry_policy& p, std::int64_t retries_in_flight,
                                std::int64_t active_requests) {
  auto limit = std::max<std::int64_t>(3, static_cast<std::int64_t>(p.budget * static_cast<double>(active_requests)));
  return retries_in_flight < limit;
}

inline bool retry_on_status(const config::retry_policy& p, unsigned status) {
  return std::find(p.statuses.begin(), p.statuses.end(), status) != p.statuses.end();
}

}  // namespace modelgate::proxy
