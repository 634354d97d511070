// Costs of picking a backend: the consistent-hash ring alone, the per-worker balancer with bounded
// loads (consistent_hash) and with power of two choices (least_queue), and P2C by itself. Eight
// backends of weight 1, as a pool of model replicas; in-flight counts are fixed and uneven so
// bounded loads sometimes pass a key along the ring. Numbers go to docs/benchmarks.md.

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/routing/balancer.hpp"
#include "proxy/routing/hash.hpp"
#include "proxy/routing/hash_ring.hpp"
#include "proxy/routing/least_queue.hpp"

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace config = modelgate::config;
using namespace modelgate::proxy;

namespace {

constexpr std::size_t pool_size = 8;
constexpr std::size_t key_count = 1024;  // a power of two: the key index is a mask

config::pool make_pool(config::balance_policy policy) {
  config::pool p;
  p.name = "bench";
  p.policy = policy;
  p.bounded_load = 1.25;
  for (std::size_t i = 0; i < pool_size; ++i) {
    config::backend b;
    b.address = {"10.0.0." + std::to_string(i + 1), 9001};
    p.backends.push_back(b);
  }
  return p;
}

// Session ids hashed the way a request's x-session-id is.
std::vector<std::uint64_t> key_hashes() {
  std::vector<std::uint64_t> h;
  for (std::size_t i = 0; i < key_count; ++i) h.push_back(hash64("session-" + std::to_string(i)));
  return h;
}

// 0..7 requests in flight: with c = 1.25 and 28 in flight the bound is ceil(1.25 × 29 / 8) = 5,
// so the backends holding 5, 6 and 7 pass their keys on.
void set_uneven_load(pool_live& live) {
  for (std::size_t b = 0; b < pool_size; ++b)
    live.at(b).in_flight.store(static_cast<std::int64_t>(b));
}

void hash_session_id(benchmark::State& state) {
  const std::string id = "7f9c2ba4e88f827d616045507605853e";
  for (auto _ : state) {
    benchmark::DoNotOptimize(id.data());
    benchmark::DoNotOptimize(hash64(id));
  }
}
BENCHMARK(hash_session_id);

void hash_ring_pick(benchmark::State& state) {
  const auto pool = make_pool(config::balance_policy::consistent_hash);
  std::vector<std::string> names;
  for (const auto& b : pool.backends) names.push_back(b.label());
  const hash_ring ring(names, std::vector<std::uint32_t>(pool_size, 1));
  const auto keys = key_hashes();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(ring.pick(keys[i++ & (key_count - 1)]));
  state.counters["ring_points"] = static_cast<double>(ring.points());
}
BENCHMARK(hash_ring_pick);

// The request path's pick: availability scan of the pool, bounded-load check, ring walk.
void balancer_consistent_hash_bounded(benchmark::State& state) {
  pool_live live(make_pool(config::balance_policy::consistent_hash));
  set_uneven_load(live);
  balancer bal(live, 1);
  const auto keys = key_hashes();
  const auto now = pool_live::clock::now();
  std::size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(bal.pick(keys[i++ & (key_count - 1)], {}, now));
}
BENCHMARK(balancer_consistent_hash_bounded);

void balancer_least_queue(benchmark::State& state) {
  pool_live live(make_pool(config::balance_policy::least_queue));
  set_uneven_load(live);
  const auto now = pool_live::clock::now();
  for (std::size_t b = 0; b < pool_size; ++b) live.report_queue(b, static_cast<double>(b % 3), now);
  balancer bal(live, 1);
  for (auto _ : state) benchmark::DoNotOptimize(bal.pick(std::nullopt, {}, now));
}
BENCHMARK(balancer_least_queue);

// P2C itself, without the balancer's eligibility scan: two draws, two loads, one comparison.
void p2c_pick_least_queue(benchmark::State& state) {
  std::vector<std::size_t> eligible;
  std::array<backend_load, pool_size> loads{};
  for (std::size_t b = 0; b < pool_size; ++b) {
    eligible.push_back(b);
    loads[b] = {b, b % 3, 1};
  }
  std::uint64_t x = 88172645463325252ull;  // xorshift64: the draws cost next to nothing
  auto draw = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (auto _ : state) {
    const auto r1 = draw(), r2 = draw();
    benchmark::DoNotOptimize(
        pick_least_queue(eligible, [&](std::size_t b) { return loads[b]; }, r1, r2));
  }
}
BENCHMARK(p2c_pick_least_queue);

}  // namespace
