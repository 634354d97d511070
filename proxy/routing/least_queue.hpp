#pragma once
// Power of two choices (Mitzenmacher 2001): draw two distinct eligible backends at random and take
// the one with the shorter queue, where a backend's queue is the proxy's requests in flight to it
// plus the queue depth it last reported, divided by its weight. Ties go to fewer in flight. Two
// draws avoid the herd that "always the global minimum" causes when reports are stale. Pure: the
// random draws are parameters.

#include <cstdint>
#include <optional>
#include <vector>

namespace modelgate::proxy {

struct backend_load {
  std::uint64_t in_flight = 0;  // this proxy's requests in flight
  std::uint64_t queued = 0;     // backend-reported waiting requests (0 when unknown or stale)
  std::uint32_t weight = 1;
};

/// Picks among `eligible` (backend indexes) using `load(i)`; `r1`, `r2` are uniform random draws.
template <class Load>
std::optional<std::size_t> pick_least_queue(const std::vector<std::size_t>& eligible, Load&& load,
                                            std::uint64_t r1, std::uint64_t r2) {
  const auto m = eligible.size();
  if (m == 0) return std::nullopt;
  if (m == 1) return eligible[0];
  const auto i = r1 % m;
  const auto j = (i + 1 + r2 % (m - 1)) % m;  // distinct from i
  const auto a = eligible[i], b = eligible[j];
  const backend_load la = load(a), lb = load(b);
  // Compare (queue_a / w_a) with (queue_b / w_b) without division.
  const auto qa = (la.in_flight + la.queued) * lb.weight;
  const auto qb = (lb.in_flight + lb.queued) * la.weight;
  if (qa != qb) return qa < qb ? a : b;
  return lb.in_flight < la.in_flight ? b : a;
}

}  // namespace modelgate::proxy
