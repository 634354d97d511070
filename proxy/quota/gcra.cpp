#include "proxy/quota/gcra.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace modelgate::quota {

namespace {

using rep = clock::duration::rep;

// interval × n, saturating instead of overflowing (absurd token counts must not wrap around).
clock::duration times(clock::duration interval, std::uint64_t n) {
  const auto max = std::numeric_limits<rep>::max() / 4;
  if (n != 0 && static_cast<std::uint64_t>(interval.count()) > static_cast<std::uint64_t>(max) / n) {
    return clock::duration(max);
  }
  return interval * static_cast<rep>(n);
}

gcra_result status_at(const gcra_limit& limit, clock::time_point tat, clock::time_point now) {
  gcra_result r;
  const auto ahead = tat - now;  // how far the bucket is from full
  r.reset = std::max(ahead, clock::duration::zero());
  const auto room = times(limit.interval, limit.burst) - ahead;
  r.remaining = room <= clock::duration::zero()
                    ? 0
                    : std::min<std::uint64_t>(static_cast<std::uint64_t>(room / limit.interval),
                                              limit.burst);
  return r;
}

}  // namespace

gcra_limit gcra_limit::per_second(double rate, std::uint64_t burst) {
  gcra_limit l;
  if (!(rate > 0)) return l;
  l.interval = std::max(clock::duration(1), std::chrono::round<clock::duration>(
                                                std::chrono::duration<double>(1.0 / rate)));
  l.burst = burst > 0 ? burst : std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(rate)));
  return l;
}

gcra_limit gcra_limit::per_minute(std::uint64_t amount) {
  gcra_limit l;
  if (amount == 0) return l;
  l.interval = std::max(clock::duration(1),
                        std::chrono::round<clock::duration>(std::chrono::duration<double>(
                            60.0 / static_cast<double>(amount))));
  l.burst = amount;
  return l;
}

gcra_result gcra::check(const gcra_limit& limit, std::uint64_t n, clock::time_point now) const {
  if (limit.unlimited()) return {true, {}, std::numeric_limits<std::uint64_t>::max(), {}};
  const auto tat = std::max(tat_, now);
  const auto need = std::min(n, limit.burst);
  const auto allow_at = tat + times(limit.interval, need) - times(limit.interval, limit.burst);
  if (now < allow_at) {
    auto r = status_at(limit, tat, now);
    r.retry_after = allow_at - now;
    return r;
  }
  auto r = status_at(limit, tat + times(limit.interval, n), now);
  r.admitted = true;
  return r;
}

gcra_result gcra::try_take(const gcra_limit& limit, std::uint64_t n, clock::time_point now) {
  auto r = check(limit, n, now);
  if (r.admitted && !limit.unlimited()) tat_ = std::max(tat_, now) + times(limit.interval, n);
  return r;
}

gcra_result gcra::adjust(const gcra_limit& limit, std::int64_t n, clock::time_point now) {
  if (limit.unlimited()) return check(limit, 0, now);
  const auto tat = std::max(tat_, now);
  if (n >= 0) {
    tat_ = tat + times(limit.interval, static_cast<std::uint64_t>(n));
  } else {
    const auto back = times(limit.interval, static_cast<std::uint64_t>(-(n + 1)) + 1);
    tat_ = tat - now > back ? tat - back : now;
  }
  auto r = status_at(limit, tat_, now);
  r.admitted = true;
  return r;
}

}  // namespace modelgate::quota
