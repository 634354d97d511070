#include "proxy/routing/balancer.hpp"

#include "proxy/routing/least_queue.hpp"

namespace modelgate::proxy {
namespace {

std::vector<std::uint32_t> weights_of(const config::pool& p) {
  std::vector<std::uint32_t> w;
  for (const auto& b : p.backends) w.push_back(b.weight);
  return w;
}

}  // namespace

balancer::balancer(pool_live& live, std::uint64_t seed)
    : live_(live), rr_(weights_of(live.cfg())), rng_(seed) {
  scratch_.reserve(live.size());
}

pick_result balancer::pick(std::optional<std::uint64_t> key_hash, const backend_set& tried,
                           pool_live::clock::time_point now, when_none_healthy none_healthy) {
  const auto& cfg = live_.cfg();
  const auto n = live_.size();
  const auto cap = cfg.max_inflight_per_backend;
  backend_set healthy, untried_healthy, allowed;
  bool any_untried = false;
  for (std::size_t b = 0; b < n; ++b) {
    const bool ok = live_.available(b, now);
    healthy[b] = ok;
    if (tried[b]) continue;
    any_untried = true;
    untried_healthy[b] = ok;
  }
  if (!any_untried) return {pick_result::outcome::exhausted};
  // No healthy backend left: panic mode spreads over all of them rather than failing everything,
  // unless the caller has a fallback pool, which is better than backends known to be down. Never
  // to a DNS slot without an address.
  backend_set candidates = untried_healthy;
  if (healthy.none()) {
    if (!cfg.panic || none_healthy == when_none_healthy::report || live_.present_count() == 0)
      return {pick_result::outcome::no_healthy_backend};
    for (std::size_t b = 0; b < n; ++b) candidates[b] = !tried[b] && live_.present(b);
  }
  if (candidates.none()) return {pick_result::outcome::exhausted};
  allowed = candidates;
  if (cap > 0) {
    for (std::size_t b = 0; b < n; ++b)
      if (allowed[b] && live_.at(b).in_flight.load(std::memory_order_relaxed) >= static_cast<std::int64_t>(cap))
        allowed[b] = false;
    if (allowed.none()) return {pick_result::outcome::circuit_open};
  }

  std::optional<std::size_t> chosen;
  switch (cfg.policy) {
    case config::balance_policy::round_robin:
      chosen = rr_.pick([&](std::size_t b) { return allowed[b]; });
      break;
    case config::balance_policy::consistent_hash:
      chosen = key_hash ? pick_hashed(*key_hash, allowed) : pick_least_queue(allowed, now);
      break;
    case config::balance_policy::least_queue:
      chosen = pick_least_queue(allowed, now);
      break;
  }
  if (!chosen) return {pick_result::outcome::exhausted};
  live_.at(*chosen).picks.fetch_add(1, std::memory_order_relaxed);
  return {pick_result::outcome::picked, *chosen};
}

std::optional<std::size_t> balancer::pick_hashed(std::uint64_t h, const backend_set& allowed) {
  const auto& cfg = live_.cfg();
  std::uint64_t total = 0, total_weight = 0;
  for (std::size_t b = 0; b < live_.size(); ++b) {
    if (!allowed[b]) continue;
    total += static_cast<std::uint64_t>(std::max<std::int64_t>(0, live_.at(b).in_flight.load(std::memory_order_relaxed)));
    total_weight += cfg.backends[b].weight;
  }
  auto under_bound = [&](std::size_t b) {
    if (!allowed[b]) return false;
    auto cap = bounded_capacity(cfg.bounded_load, total, cfg.backends[b].weight, total_weight);
    return static_cast<std::uint64_t>(live_.at(b).in_flight.load(std::memory_order_relaxed)) + 1 <= cap;
  };
  if (auto b = live_.ring().pick_first(h, under_bound)) return b;
  // Every allowed backend is at its bound (only possible with concurrent picks): take the owner.
  return live_.ring().pick_first(h, [&](std::size_t b) { return allowed[b]; });
}

std::optional<std::size_t> balancer::pick_least_queue(const backend_set& allowed,
                                                      pool_live::clock::time_point now) {
  scratch_.clear();
  for (std::size_t b = 0; b < live_.size(); ++b)
    if (allowed[b]) scratch_.push_back(b);
  auto load = [&](std::size_t b) {
    return backend_load{
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, live_.at(b).in_flight.load(std::memory_order_relaxed))),
        live_.queued(b, now), live_.cfg().backends[b].weight};
  };
  auto r1 = rng_(), r2 = rng_();
  return proxy::pick_least_queue(scratch_, load, r1, r2);
}

}  // namespace modelgate::proxy
