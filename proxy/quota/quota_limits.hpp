#pragma once
// The per-key limits a quota check enforces, and the clock whose time points the pure code takes.

#include <chrono>
#include <cstdint>

namespace modelgate::quota {

/// Quota code never reads this clock: callers pass `clock::now()` in, tests pass made-up points.
using clock = std::chrono::steady_clock;

/// One key's limits (config `auth.keys[].quota`). Zero means "no limit" for each field.
struct quota_limits {
  double requests_per_second = 0;      // sustained request rate
  std::uint64_t burst = 0;             // requests admitted at once from idle; 0 → max(1, ceil(rps))
  std::uint32_t max_concurrent = 0;    // requests in flight at once (per proxy process)
  std::uint64_t tokens_per_minute = 0; // model tokens (usage.total_tokens) per minute

  bool limits_requests() const noexcept { return requests_per_second > 0; }
  bool limits_concurrency() const noexcept { return max_concurrent > 0; }
  bool limits_tokens() const noexcept { return tokens_per_minute > 0; }
  friend bool operator==(const quota_limits&, const quota_limits&) = default;
};

}  // namespace modelgate::quota
