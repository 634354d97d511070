// Backend picking: power of two choices, smooth weighted round robin, and the per-worker balancer
// over pool_live (health, panic mode, circuit breaking, tried sets, policies, bounded loads).

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/routing/balancer.hpp"
#include "proxy/routing/hash.hpp"
#include "proxy/routing/least_queue.hpp"
#include "proxy/routing/round_robin.hpp"
#include "skewed_keys.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace modelgate::proxy;
namespace config = modelgate::config;
using namespace std::chrono_literals;

namespace {

// --- least_queue (pure)

struct load_table {
  std::map<std::size_t, backend_load> loads;
  std::vector<std::size_t>* asked = nullptr;
  backend_load operator()(std::size_t b) const {
    if (asked) asked->push_back(b);
    return loads.at(b);
  }
};

}  // namespace

TEST(LeastQueue, EmptyAndSingle) {
  load_table t{{{4, {9, 9, 1}}}};
  EXPECT_EQ(pick_least_queue({}, t, 0, 0), std::nullopt);
  EXPECT_EQ(pick_least_queue({4}, t, 123, 456), 4u);
}

TEST(LeastQueue, DrawsChooseThePairAndTheShorterQueueWins) {
  const std::vector<std::size_t> eligible = {5, 7, 9};
  load_table t{{{5, {10, 0, 1}}, {7, {1, 0, 1}}, {9, {4, 0, 1}}}};
  // r1 % 3 picks the first, r2 % 2 the offset (1 + ·) of the second: both always distinct.
  EXPECT_EQ(pick_least_queue(eligible, t, 0, 0), 7u);  // 5 vs 7
  EXPECT_EQ(pick_least_queue(eligible, t, 0, 1), 9u);  // 5 vs 9: not the global minimum (7)
  EXPECT_EQ(pick_least_queue(eligible, t, 1, 0), 7u);  // 7 vs 9
  EXPECT_EQ(pick_least_queue(eligible, t, 2, 0), 9u);  // 9 vs 5
  EXPECT_EQ(pick_least_queue(eligible, t, 2, 1), 7u);  // 9 vs 7
  EXPECT_EQ(pick_least_queue(eligible, t, 3, 2), 7u);  // same as (0, 0)
}

TEST(LeastQueue, EveryOrderedPairOnceOverAllDraws) {
  // r1 in [0, m) and r2 in [0, m - 1) give each ordered pair of distinct backends exactly once.
  const std::vector<std::size_t> eligible = {0, 1, 2, 3, 4};
  load_table t;
  for (std::size_t b = 0; b < 5; ++b) t.loads[b] = {0, 0, 1};
  std::vector<std::size_t> asked;
  t.asked = &asked;
  std::set<std::pair<std::size_t, std::size_t>> pairs;
  for (std::uint64_t r1 = 0; r1 < 5; ++r1)
    for (std::uint64_t r2 = 0; r2 < 4; ++r2) {
      asked.clear();
      (void)pick_least_queue(eligible, t, r1, r2);
      ASSERT_EQ(asked.size(), 2u);
      ASSERT_NE(asked[0], asked[1]);
      EXPECT_TRUE(pairs.emplace(asked[0], asked[1]).second);
    }
  EXPECT_EQ(pairs.size(), 20u);
  // Large draws (the generator's full range) stay in range.
  asked.clear();
  (void)pick_least_queue(eligible, t, ~0ull, ~0ull - 1);
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_NE(asked[0], asked[1]);
}

TEST(LeastQueue, ReportedQueueCounts) {
  // a: 1 in flight + 5 reported = 6; b: 4 in flight, nothing reported = 4.
  load_table t{{{0, {1, 5, 1}}, {1, {4, 0, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, t, 0, 0), 1u);
  EXPECT_EQ(pick_least_queue({0, 1}, t, 1, 0), 1u);
}

TEST(LeastQueue, TiesGoToFewerInFlight) {
  // Both queues are 3; b has fewer of them in flight through this proxy.
  load_table t{{{0, {3, 0, 1}}, {1, {1, 2, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, t, 0, 0), 1u);
  EXPECT_EQ(pick_least_queue({0, 1}, t, 1, 0), 1u);
  // A complete tie keeps the first draw.
  load_table same{{{0, {2, 1, 1}}, {1, {2, 1, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, same, 0, 0), 0u);
  EXPECT_EQ(pick_least_queue({0, 1}, same, 1, 0), 1u);
}

TEST(LeastQueue, QueuesAreDividedByWeight) {
  // 6 / 2 = 3 beats 4 / 1 although 6 > 4.
  load_table t{{{0, {6, 0, 2}}, {1, {4, 0, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, t, 0, 0), 0u);
  EXPECT_EQ(pick_least_queue({0, 1}, t, 1, 0), 0u);
  // 9 / 3 = 3 / 1: a weighted tie, broken by in-flight (1 < 9).
  load_table tie{{{0, {9, 0, 3}}, {1, {1, 2, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, tie, 0, 0), 1u);
  // 7 / 3 < 3 / 1.
  load_table near{{{0, {7, 0, 3}}, {1, {3, 0, 1}}}};
  EXPECT_EQ(pick_least_queue({0, 1}, near, 1, 0), 0u);
}

// --- round_robin

TEST(RoundRobin, ExactSequenceForWeights421) {
  // nginx smooth WRR by hand: scores (4,2,1) → a (-3,2,1); (1,4,2) → b (1,-3,2); (5,-1,3) → a;
  // (2,1,4) → c; (6,3,-2) → a; (3,5,-1) → b; (7,0,0) → a, back to (0,0,0).
  round_robin rr({4, 2, 1});
  std::string order;
  for (int i = 0; i < 14; ++i) order += static_cast<char>('a' + *rr.pick([](auto) { return true; }));
  EXPECT_EQ(order, "abacabaabacaba");
}

TEST(RoundRobin, EqualWeightsCycleInOrder) {
  round_robin rr({1, 1, 1});
  std::string order;
  for (int i = 0; i < 6; ++i) order += static_cast<char>('a' + *rr.pick([](auto) { return true; }));
  EXPECT_EQ(order, "abcabc");
}

TEST(RoundRobin, RemainingBackendsKeepTheirRatioWhenOneLeaves) {
  round_robin rr({3, 2, 1});
  int counts[3] = {};
  for (int i = 0; i < 300; ++i) ++counts[*rr.pick([](std::size_t b) { return b != 0; })];
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1], 200);
  EXPECT_EQ(counts[2], 100);
}

// --- balancer over pool_live

namespace {

using clock_type = pool_live::clock;
const clock_type::time_point t0 = clock_type::time_point{} + 1h;

config::pool make_pool(const std::vector<std::uint32_t>& weights,
                       config::balance_policy policy = config::balance_policy::round_robin) {
  config::pool p;
  p.name = "test";
  p.policy = policy;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    config::backend b;
    b.address = {"10.0.0." + std::to_string(i + 1), 9001};
    b.weight = weights[i];
    p.backends.push_back(b);
  }
  return p;
}

std::map<std::size_t, int> pick_counts(balancer& bal, int n, std::optional<std::uint64_t> key = {},
                                       const backend_set& tried = {}, clock_type::time_point now = t0) {
  std::map<std::size_t, int> c;
  for (int i = 0; i < n; ++i) {
    auto r = bal.pick(key, tried, now);
    EXPECT_EQ(r.what, pick_result::outcome::picked);
    if (r.what == pick_result::outcome::picked) ++c[r.backend];
  }
  return c;
}

void set_in_flight(pool_live& live, const std::vector<std::int64_t>& v) {
  for (std::size_t b = 0; b < v.size(); ++b) live.at(b).in_flight.store(v[b]);
}

}  // namespace

TEST(Balancer, RoundRobinFollowsWeightsAndCountsPicks) {
  pool_live live(make_pool({2, 1, 1}));
  balancer bal(live, 1);
  auto c = pick_counts(bal, 400);
  EXPECT_EQ(c[0], 200);
  EXPECT_EQ(c[1], 100);
  EXPECT_EQ(c[2], 100);
  EXPECT_EQ(live.at(0).picks.load(), 200u);
  EXPECT_EQ(live.at(2).picks.load(), 100u);
}

TEST(Balancer, SkipsTriedBackends) {
  pool_live live(make_pool({1, 1, 1}));
  balancer bal(live, 1);
  backend_set tried;
  tried[1] = true;
  auto c = pick_counts(bal, 60, std::nullopt, tried);
  EXPECT_EQ(c.count(1), 0u);
  EXPECT_EQ(c[0], 30);
  EXPECT_EQ(c[2], 30);
}

TEST(Balancer, ExhaustedWhenEveryBackendWasTried) {
  pool_live live(make_pool({1, 1}));
  balancer bal(live, 1);
  backend_set tried;
  tried[0] = tried[1] = true;
  EXPECT_EQ(bal.pick(std::nullopt, tried, t0).what, pick_result::outcome::exhausted);
  // Only an unhealthy backend is left untried while a healthy one exists: no panic, exhausted.
  live.at(1).probe_healthy = false;
  tried[1] = false;
  EXPECT_EQ(bal.pick(std::nullopt, tried, t0).what, pick_result::outcome::exhausted);
}

TEST(Balancer, SkipsUnhealthyAndEjectedUntilTheyRecover) {
  auto cfg = make_pool({1, 1, 1});
  cfg.outliers.consecutive_failures = 1;
  cfg.outliers.base_ejection = 10s;
  cfg.outliers.max_ejected_share = 1.0;
  pool_live live(cfg);
  balancer bal(live, 1);
  live.at(1).probe_healthy = false;
  ASSERT_TRUE(live.record_failure(2, t0));
  auto c = pick_counts(bal, 20, std::nullopt, {}, t0 + 9s);
  EXPECT_EQ(c[0], 20);
  // The ejection ends at t0 + 10s; the probe verdict still holds.
  c = pick_counts(bal, 20, std::nullopt, {}, t0 + 10s);
  EXPECT_EQ(c[0], 10);
  EXPECT_EQ(c[2], 10);
  live.at(1).probe_healthy = true;
  c = pick_counts(bal, 30, std::nullopt, {}, t0 + 10s);
  EXPECT_EQ(c.size(), 3u);
}

TEST(Balancer, PanicSpreadsOverAllWhenNoneIsHealthy) {
  pool_live live(make_pool({1, 1, 1}));
  balancer bal(live, 1);
  for (std::size_t b = 0; b < 3; ++b) live.at(b).probe_healthy = false;
  auto c = pick_counts(bal, 30);
  EXPECT_EQ(c[0], 10);
  EXPECT_EQ(c[1], 10);
  EXPECT_EQ(c[2], 10);
  // Still honours the tried set.
  backend_set tried;
  tried[0] = tried[2] = true;
  auto r = bal.pick(std::nullopt, tried, t0);
  EXPECT_EQ(r.what, pick_result::outcome::picked);
  EXPECT_EQ(r.backend, 1u);
  tried[1] = true;
  EXPECT_EQ(bal.pick(std::nullopt, tried, t0).what, pick_result::outcome::exhausted);
}

TEST(Balancer, WithoutPanicNoHealthyBackendIsAnError) {
  auto cfg = make_pool({1, 1});
  cfg.panic = false;
  pool_live live(cfg);
  balancer bal(live, 1);
  live.at(0).probe_healthy = false;
  live.at(1).probe_healthy = false;
  EXPECT_EQ(bal.pick(std::nullopt, {}, t0).what, pick_result::outcome::no_healthy_backend);
  live.at(1).probe_healthy = true;
  auto r = bal.pick(std::nullopt, {}, t0);
  EXPECT_EQ(r.what, pick_result::outcome::picked);
  EXPECT_EQ(r.backend, 1u);
}

TEST(Balancer, NoPanicWhenTheCallerHasAFallback) {
  // panic: true (the default), but a route with a fallback pool asks to be told instead.
  pool_live live(make_pool({1, 1}));
  balancer bal(live, 1);
  live.at(0).probe_healthy = false;
  live.at(1).probe_healthy = false;
  EXPECT_EQ(bal.pick(std::nullopt, {}, t0, when_none_healthy::report).what,
            pick_result::outcome::no_healthy_backend);
  EXPECT_EQ(bal.pick(std::nullopt, {}, t0).what, pick_result::outcome::picked);
  // With a healthy backend the fallback is not needed.
  live.at(1).probe_healthy = true;
  auto r = bal.pick(std::nullopt, {}, t0, when_none_healthy::report);
  EXPECT_EQ(r.what, pick_result::outcome::picked);
  EXPECT_EQ(r.backend, 1u);
}

TEST(Balancer, CircuitOpenWhenEveryCandidateIsAtMaxInFlight) {
  auto cfg = make_pool({1, 1, 1});
  cfg.max_inflight_per_backend = 2;
  pool_live live(cfg);
  balancer bal(live, 1);
  set_in_flight(live, {2, 2, 2});
  EXPECT_EQ(bal.pick(std::nullopt, {}, t0).what, pick_result::outcome::circuit_open);
  set_in_flight(live, {2, 1, 2});
  auto c = pick_counts(bal, 5);
  EXPECT_EQ(c[1], 5);
  // Only untried candidates count: the one with room was tried.
  backend_set tried;
  tried[1] = true;
  EXPECT_EQ(bal.pick(std::nullopt, tried, t0).what, pick_result::outcome::circuit_open);
  // Also in panic mode.
  for (std::size_t b = 0; b < 3; ++b) live.at(b).probe_healthy = false;
  set_in_flight(live, {2, 2, 2});
  EXPECT_EQ(bal.pick(std::nullopt, {}, t0).what, pick_result::outcome::circuit_open);
}

TEST(Balancer, ConsistentHashSticksToTheOwnerAndRetriesAlongTheRing) {
  pool_live live(make_pool({1, 1, 1, 1, 1}, config::balance_policy::consistent_hash));
  balancer bal(live, 1);
  for (int k = 0; k < 200; ++k) {
    auto h = hash64("session-" + std::to_string(k));
    auto owner = *live.ring().pick(h);
    for (int i = 0; i < 3; ++i) {
      auto r = bal.pick(h, {}, t0);
      ASSERT_EQ(r.what, pick_result::outcome::picked);
      EXPECT_EQ(r.backend, owner);
    }
    backend_set tried;
    tried[owner] = true;
    EXPECT_EQ(bal.pick(h, tried, t0).backend, *live.ring().pick(h, 1));
    // An unhealthy owner is passed over the same way.
    live.at(owner).probe_healthy = false;
    EXPECT_EQ(bal.pick(h, {}, t0).backend, *live.ring().pick(h, 1));
    live.at(owner).probe_healthy = true;
  }
}

TEST(Balancer, ConsistentHashPassesAFullOwnerAlong) {
  auto cfg = make_pool({1, 1, 1, 1}, config::balance_policy::consistent_hash);
  cfg.bounded_load = 1.25;
  pool_live live(cfg);
  balancer bal(live, 1);
  auto h = hash64("hot");
  auto owner = *live.ring().pick(h);
  // 10 in flight, all on the owner: its bound is ceil(1.25 × 11 / 4) = 4, so it is full.
  std::vector<std::int64_t> in(4, 0);
  in[owner] = 10;
  set_in_flight(live, in);
  EXPECT_EQ(bal.pick(h, {}, t0).backend, *live.ring().pick(h, 1));
  // 4 in flight on the owner, 6 elsewhere: still full. At 3 it has room.
  in.assign(4, 2);
  in[owner] = 4;
  set_in_flight(live, in);
  EXPECT_NE(bal.pick(h, {}, t0).backend, owner);
  in[owner] = 3;
  in[(owner + 1) % 4] = 3;
  set_in_flight(live, in);
  EXPECT_EQ(bal.pick(h, {}, t0).backend, owner);
}

TEST(Balancer, ConsistentHashWithoutKeyFallsBackToLeastQueue) {
  pool_live live(make_pool({1, 1}, config::balance_policy::consistent_hash));
  balancer bal(live, 7);
  // With two candidates P2C compares both, so the shorter queue always wins.
  set_in_flight(live, {5, 0});
  EXPECT_EQ(pick_counts(bal, 50)[1], 50);
  set_in_flight(live, {0, 5});
  EXPECT_EQ(pick_counts(bal, 50)[0], 50);
}

TEST(Balancer, LeastQueueUsesFreshReportsAndIgnoresStaleOnes) {
  auto cfg = make_pool({1, 1}, config::balance_policy::least_queue);
  cfg.report.max_age = 5s;
  pool_live live(cfg);
  balancer bal(live, 3);
  set_in_flight(live, {3, 0});
  live.report_queue(1, 10, t0);
  // 3 < 0 + 10.
  EXPECT_EQ(pick_counts(bal, 20, std::nullopt, {}, t0 + 5s)[0], 20);
  // The report has expired: 0 < 3.
  EXPECT_EQ(pick_counts(bal, 20, std::nullopt, {}, t0 + 5s + 1ms)[1], 20);
}

TEST(Balancer, LeastQueueNeverPicksTheLongestQueue) {
  pool_live live(make_pool({1, 1, 1, 1, 1}, config::balance_policy::least_queue));
  balancer bal(live, 11);
  set_in_flight(live, {0, 1, 2, 3, 9});
  auto c = pick_counts(bal, 2000);
  EXPECT_EQ(c.count(4), 0u);
  // P2C: backend i wins when drawn with any of the (4 - i) longer queues: 8 : 6 : 4 : 2 of 20.
  EXPECT_GT(c[0], c[1]);
  EXPECT_GT(c[1], c[2]);
  EXPECT_GT(c[2], c[3]);
  EXPECT_NEAR(c[0], 800, 120);
}

TEST(Balancer, LeastQueueWeights) {
  pool_live live(make_pool({3, 1}, config::balance_policy::least_queue));
  balancer bal(live, 5);
  // 2 / 3 < 1 / 1.
  set_in_flight(live, {2, 1});
  EXPECT_EQ(pick_counts(bal, 10)[0], 10);
  // 3 / 3 = 1 / 1: the tie goes to fewer in flight.
  set_in_flight(live, {3, 1});
  EXPECT_EQ(pick_counts(bal, 10)[1], 10);
}

TEST(Balancer, BoundedLoadsNeverExceededUnderSkewedKeys) {
  // Arrivals and departures of a Zipf (s = 1.1, hottest key 18%) stream through the balancer:
  // each placement leaves its backend at most ceil(c × (total + 1) × w / W), total being the
  // requests in flight before it.
  const std::vector<std::uint32_t> w = {1, 1, 2, 1, 3, 1, 1, 2};
  auto cfg = make_pool(w, config::balance_policy::consistent_hash);
  cfg.bounded_load = 1.25;
  pool_live live(cfg);
  balancer bal(live, 99);
  const std::uint64_t W = 12;
  modelgate::test::skewed_keys keys(1000, 1.1, 2024);
  std::vector<std::size_t> active;
  std::uint64_t placements = 0, spilled = 0;
  for (int step = 0; step < 100'000; ++step) {
    double p_arrive = active.size() < 32 ? 0.9 : active.size() > 512 ? 0.1 : 0.5;
    if (keys.uniform() < p_arrive) {
      auto h = hash64(keys.next_key());
      const std::uint64_t total = active.size();
      auto r = bal.pick(h, {}, t0);
      ASSERT_EQ(r.what, pick_result::outcome::picked);
      if (r.backend != *live.ring().pick(h)) ++spilled;
      auto now_in = live.at(r.backend).in_flight.fetch_add(1) + 1;
      ASSERT_LE(static_cast<std::uint64_t>(now_in), bounded_capacity(1.25, total, w[r.backend], W))
          << "step " << step << " backend " << r.backend << " total " << total;
      active.push_back(r.backend);
      ++placements;
    } else if (!active.empty()) {
      auto i = keys.raw() % active.size();
      live.at(active[i]).in_flight.fetch_sub(1);
      active[i] = active.back();
      active.pop_back();
    }
  }
  EXPECT_GT(placements, 45'000u);
  EXPECT_GT(spilled, 0u);
}

// Issue 14: a killed backend kept its place in the rotation until it had failed
// consecutive_failures times; a refused connection now takes it out at once.
TEST(Balancer, ARefusedConnectionEjectsAtOnceWithinTheShare) {
  auto cfg = make_pool({1, 1, 1});
  cfg.outliers.consecutive_failures = 5;
  cfg.outliers.base_ejection = 10s;
  cfg.outliers.max_ejected_share = 0.5;
  pool_live live(cfg);
  balancer bal(live, 1);
  EXPECT_FALSE(live.record_failure(0, t0)) << "an ordinary failure only starts a streak";
  EXPECT_TRUE(live.record_failure(1, t0, failure_kind::refused));
  auto c = pick_counts(bal, 20, std::nullopt, {}, t0 + 1s);
  EXPECT_EQ(c.count(1), 0u);
  // The share still holds: a second refusal may not eject a second of three backends.
  EXPECT_FALSE(live.record_failure(2, t0, failure_kind::refused));
  EXPECT_EQ(live.ejected_count(t0 + 1s), 1u);
}
