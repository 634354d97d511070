#pragma once
// GCRA (generic cell rate algorithm, ATM Forum TM 4.0; the "virtual scheduling" form) for request
// rates and token budgets. The whole state is one time point, the theoretical arrival time (TAT):
// the moment the bucket would be empty again if nothing more arrived. Pure: time is a parameter.
//
// Worked example, 10 requests/s (interval T = 100 ms), burst 3, idle at t = 0:
//   admits at t = 0 move TAT to 100, 200, 300 ms; the 4th at t = 0 is denied because it would be
//   allowed only at TAT + T - burst·T = 300 + 100 - 300 = 100 ms → retry_after 100 ms.
//   remaining = floor((now + burst·T - TAT) / T) = 0; reset (until full again) = TAT - now = 300 ms.

#include "proxy/quota/quota_limits.hpp"

#include <cstdint>

namespace modelgate::quota {

/// One unit every `interval`, up to `burst` units at once from idle. A zero interval is no limit.
struct gcra_limit {
  clock::duration interval{};
  std::uint64_t burst = 1;

  /// `rate` units per second; a zero burst becomes max(1, ceil(rate)).
  static gcra_limit per_second(double rate, std::uint64_t burst);
  /// `amount` units per minute with a burst of the whole minute (tokens per minute).
  static gcra_limit per_minute(std::uint64_t amount);

  bool unlimited() const noexcept { return interval <= clock::duration::zero(); }
};

/// What one check decided, and the state afterwards (for the x-ratelimit-* headers).
struct gcra_result {
  bool admitted = false;
  clock::duration retry_after{};  // zero when admitted: how long until the same take would pass
  std::uint64_t remaining = 0;    // units that could be taken at `now` after this decision
  clock::duration reset{};        // until the bucket is full again (TAT - now)
};

/// One bucket's state. Not thread-safe: the store guards it.
class gcra {
 public:
  /// Takes `n` units when there is room for min(n, burst) of them: a take larger than the burst
  /// is admitted from a full bucket and leaves a debt (a large token reservation must not be
  /// refused forever). Denied takes change nothing.
  gcra_result try_take(const gcra_limit& limit, std::uint64_t n, clock::time_point now);

  /// What try_take would decide, without taking.
  gcra_result check(const gcra_limit& limit, std::uint64_t n, clock::time_point now) const;

  /// Charges (n > 0, may go into debt) or refunds (n < 0, never past a full bucket) `n` units
  /// unconditionally, e.g. reconciling a token reservation with the real usage.
  gcra_result adjust(const gcra_limit& limit, std::int64_t n, clock::time_point now);

  clock::time_point tat() const noexcept { return tat_; }

 private:
  clock::time_point tat_{};
};

}  // namespace modelgate::quota
