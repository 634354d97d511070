// The consistent-hash ring: frozen hash and virtual-node format (golden vectors), balance, weights,
// minimal disruption, attempt order, and bounded loads under a skewed key stream.

#include "proxy/routing/hash.hpp"
#include "proxy/routing/hash_ring.hpp"
#include "skewed_keys.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <set>
#include <string>
#include <vector>

using namespace modelgate::proxy;

namespace {

std::vector<std::string> names_of(std::size_t n) {
  std::vector<std::string> v;
  for (std::size_t i = 0; i < n; ++i) v.push_back("10.0.0." + std::to_string(i + 1) + ":9001");
  return v;
}

std::string key_of(std::size_t k) { return "key-" + std::to_string(k); }

std::vector<std::size_t> owner_counts(const hash_ring& r, std::size_t keys) {
  std::vector<std::size_t> c(r.backends());
  for (std::size_t k = 0; k < keys; ++k) ++c[r.pick(hash64(key_of(k))).value()];
  return c;
}

}  // namespace

// --- golden vectors: a change here changes which backend owns which key on every deployed proxy.

static_assert(hash64("") == 0xefd01f60ba992926ull);
static_assert(hash64("a") == 0x82a2a958a9bece5bull);

TEST(Hash64, GoldenVectors) {
  EXPECT_EQ(hash64(""), 0xefd01f60ba992926ull);
  EXPECT_EQ(hash64("a"), 0x82a2a958a9bece5bull);
  EXPECT_EQ(hash64("a#1"), 0x1128c5c5349b1f69ull);
  EXPECT_EQ(hash64("10.0.0.1:9001#0"), 0x1997593366e6bccaull);
  EXPECT_EQ(hash64("session-42"), 0x3e6cfda42145251eull);
}

TEST(Hash64, NearbyStringsLandFarApart) {
  // The fmix64 finaliser: "a#1" and "a#2" differ in one input bit but in about half the output bits.
  auto diff = hash64("a#1") ^ hash64("a#2");
  EXPECT_GE(__builtin_popcountll(diff), 20);
  EXPECT_LE(__builtin_popcountll(diff), 44);
}

TEST(HashRing, GoldenOwnersAndAttemptOrder) {
  hash_ring r(names_of(4), {1, 1, 1, 1});
  ASSERT_EQ(r.points(), 4u * hash_ring::points_per_weight);
  struct golden {
    const char* key;
    std::size_t order[4];  // pick(h, 0..3)
  };
  const golden table[] = {
      {"user-1", {3, 1, 0, 2}}, {"user-2", {1, 2, 3, 0}}, {"user-3", {1, 2, 3, 0}},
      {"user-4", {2, 1, 3, 0}}, {"user-5", {3, 2, 1, 0}}, {"user-6", {1, 3, 0, 2}},
      {"user-7", {3, 2, 1, 0}}, {"user-8", {0, 3, 2, 1}},
  };
  for (const auto& g : table) {
    auto h = hash64(g.key);
    for (std::uint32_t a = 0; a < 4; ++a) EXPECT_EQ(r.pick(h, a), g.order[a]) << g.key << " attempt " << a;
  }
}

TEST(HashRing, VirtualNodeFormatIsNameHashK) {
  // A key hashing exactly onto a point belongs to that point's backend; this pins both the
  // "<name>#<k>" format and k = 0 .. weight × points_per_weight - 1.
  auto names = names_of(3);
  const std::vector<std::uint32_t> weights = {1, 2, 1};
  hash_ring r(names, weights);
  ASSERT_EQ(r.points(), 4u * hash_ring::points_per_weight);
  for (std::size_t b = 0; b < names.size(); ++b)
    for (std::uint32_t k = 0; k < weights[b] * hash_ring::points_per_weight; ++k)
      ASSERT_EQ(r.pick(hash64(names[b] + "#" + std::to_string(k))), b) << names[b] << "#" << k;
}

TEST(HashRing, WrapsAroundPastTheLastPoint) {
  hash_ring r(names_of(5), {1, 1, 1, 1, 1});
  // Nothing lies clockwise of the maximum: it belongs to the lowest point, as does 0.
  EXPECT_EQ(r.pick(std::numeric_limits<std::uint64_t>::max()), r.pick(0));
  for (std::uint32_t a = 0; a < 5; ++a)
    EXPECT_EQ(r.pick(std::numeric_limits<std::uint64_t>::max(), a), r.pick(0, a));
}

TEST(HashRing, EmptyAndSingleBackend) {
  hash_ring empty({}, {});
  EXPECT_EQ(empty.points(), 0u);
  EXPECT_EQ(empty.pick(123), std::nullopt);
  EXPECT_EQ(empty.pick_first(123, [](std::size_t) { return true; }), std::nullopt);

  hash_ring one({"a:1"}, {3});
  EXPECT_EQ(one.points(), 3u * hash_ring::points_per_weight);
  for (std::uint64_t h : {0ull, 1ull << 40, ~0ull}) {
    EXPECT_EQ(one.pick(h), 0u);
    EXPECT_EQ(one.pick(h, 1), std::nullopt);
  }
}

// --- balance and weights

TEST(HashRing, BalanceWithEqualWeights) {
  // Measured with this hash and naming (100k keys, 160 points per backend):
  //   n=3: max/mean 1.079, n=5: 1.128, n=10: 1.168 (min/mean 0.855), n=20: 1.159.
  // 160 random points per backend give max/mean of about 1.12 (median) to 1.18 (p90) for n=10
  // (simulated over 2000 random rings), so 1.15 is not a property of the algorithm; the ring is
  // deterministic, and we assert 1.20 / 0.80 so a worse hash or vnode format fails.
  for (std::size_t n : {3u, 5u, 10u, 20u}) {
    hash_ring r(names_of(n), std::vector<std::uint32_t>(n, 1));
    const std::size_t keys = 100'000;
    auto c = owner_counts(r, keys);
    const double mean = double(keys) / double(n);
    EXPECT_LT(double(*std::max_element(c.begin(), c.end())) / mean, 1.20) << "n=" << n;
    EXPECT_GT(double(*std::min_element(c.begin(), c.end())) / mean, 0.80) << "n=" << n;
  }
}

TEST(HashRing, WeightsAreRespected) {
  // Measured share / (w / W) for weights 1,2,3,4 over 100k keys: 0.950, 0.984, 0.997, 1.022.
  const std::vector<std::uint32_t> w = {1, 2, 3, 4};
  hash_ring r(names_of(4), w);
  EXPECT_EQ(r.points(), 10u * hash_ring::points_per_weight);
  const std::size_t keys = 100'000;
  auto c = owner_counts(r, keys);
  for (std::size_t b = 0; b < w.size(); ++b) {
    double ratio = (double(c[b]) / double(keys)) / (w[b] / 10.0);
    EXPECT_GT(ratio, 0.90) << b;
    EXPECT_LT(ratio, 1.10) << b;
  }
}

TEST(HashRing, OwnershipDependsOnNamesNotOrder) {
  // Every proxy must agree whatever order its config (or DNS) lists the backends in.
  auto names = names_of(6);
  hash_ring a(names, {1, 2, 1, 1, 3, 1});
  std::vector<std::string> reversed(names.rbegin(), names.rend());
  hash_ring b(reversed, {1, 3, 1, 1, 2, 1});
  for (std::size_t k = 0; k < 20'000; ++k) {
    auto h = hash64(key_of(k));
    ASSERT_EQ(names[*a.pick(h)], reversed[*b.pick(h)]) << k;
  }
}

// --- minimal disruption

TEST(HashRing, RemovingOneBackendMovesOnlyItsKeys) {
  // Measured: removing 10.0.0.4 of 10 moves 8.55% of 100k keys (1/n = 10%), all of them its own.
  const std::size_t n = 10, keys = 100'000, removed = 3;
  auto names = names_of(n);
  hash_ring before(names, std::vector<std::uint32_t>(n, 1));
  auto survivors = names;
  survivors.erase(survivors.begin() + removed);
  hash_ring after(survivors, std::vector<std::uint32_t>(n - 1, 1));
  std::size_t moved = 0, owned = 0;
  for (std::size_t k = 0; k < keys; ++k) {
    auto h = hash64(key_of(k));
    const auto& was = names[*before.pick(h)];
    const auto& now = survivors[*after.pick(h)];
    if (was == names[removed]) ++owned;
    if (was != now) {
      ++moved;
      ASSERT_EQ(was, names[removed]) << "key " << k << " moved between surviving backends";
    }
  }
  EXPECT_EQ(moved, owned);
  EXPECT_GT(double(moved) / keys, 0.06);
  EXPECT_LT(double(moved) / keys, 0.14);
}

TEST(HashRing, AddingOneBackendMovesKeysOnlyToIt) {
  // Measured: adding an 11th backend moves 8.54% of 100k keys (1/(n+1) = 9.1%), all to it.
  const std::size_t n = 10, keys = 100'000;
  auto names = names_of(n + 1);
  std::vector<std::string> old_names(names.begin(), names.end() - 1);
  hash_ring before(old_names, std::vector<std::uint32_t>(n, 1));
  hash_ring after(names, std::vector<std::uint32_t>(n + 1, 1));
  std::size_t moved = 0;
  for (std::size_t k = 0; k < keys; ++k) {
    auto h = hash64(key_of(k));
    const auto& was = old_names[*before.pick(h)];
    const auto& now = names[*after.pick(h)];
    if (was != now) {
      ++moved;
      ASSERT_EQ(now, names.back()) << "key " << k << " moved between old backends";
    }
  }
  EXPECT_GT(double(moved) / keys, 0.06);
  EXPECT_LT(double(moved) / keys, 0.12);
}

TEST(HashRing, RaisingAWeightMovesKeysOnlyToThatBackend) {
  // Weight 2 keeps points #0..#159 and adds #160..#319, so only keys taken by those move.
  auto names = names_of(5);
  hash_ring before(names, {1, 1, 1, 1, 1});
  hash_ring after(names, {1, 1, 2, 1, 1});
  std::size_t moved = 0;
  for (std::size_t k = 0; k < 50'000; ++k) {
    auto h = hash64(key_of(k));
    auto was = *before.pick(h), now = *after.pick(h);
    if (was != now) {
      ++moved;
      ASSERT_EQ(now, 2u) << k;
    }
  }
  EXPECT_GT(moved, 0u);
}

// --- attempts and pick_first

TEST(HashRing, AttemptsYieldDistinctBackendsThenNothing) {
  const std::size_t n = 7;
  hash_ring r(names_of(n), {1, 2, 1, 3, 1, 1, 2});
  for (std::size_t k = 0; k < 2000; ++k) {
    auto h = hash64(key_of(k));
    std::set<std::size_t> seen;
    for (std::uint32_t a = 0; a < n; ++a) {
      auto b = r.pick(h, a);
      ASSERT_TRUE(b) << k << " attempt " << a;
      ASSERT_TRUE(seen.insert(*b).second) << "attempt " << a << " repeats backend " << *b;
    }
    EXPECT_EQ(r.pick(h, n), std::nullopt);
    EXPECT_EQ(r.pick(h, n + 5), std::nullopt);
  }
}

TEST(HashRing, PickFirstWalksInAttemptOrder) {
  const std::size_t n = 6;
  hash_ring r(names_of(n), std::vector<std::uint32_t>(n, 1));
  for (std::size_t k = 0; k < 500; ++k) {
    auto h = hash64(key_of(k));
    // Offered each backend once, in the order pick(h, 0), pick(h, 1), ...
    std::vector<std::size_t> offered;
    EXPECT_EQ(r.pick_first(h, [&](std::size_t b) {
      offered.push_back(b);
      return false;
    }), std::nullopt);
    ASSERT_EQ(offered.size(), n);
    for (std::uint32_t a = 0; a < n; ++a) EXPECT_EQ(offered[a], r.pick(h, a));
    // Refusing the owner gives the first retry's backend.
    auto owner = *r.pick(h);
    EXPECT_EQ(r.pick_first(h, [&](std::size_t b) { return b != owner; }), r.pick(h, 1));
    EXPECT_EQ(r.pick_first(h, [](std::size_t) { return true; }), owner);
  }
}

// --- bounded loads

TEST(BoundedCapacity, WorkedExamples) {
  // The header's example: c = 1.25, 4 equal backends, 10 in flight: ceil(1.25 × 11 / 4) = 4.
  EXPECT_EQ(bounded_capacity(1.25, 10, 1, 4), 4u);
  // Exact integers are not rounded up: 1.0 × 4 × 1 / 4 = 1, 1.5 × 2 × 1 / 3 = 1.
  EXPECT_EQ(bounded_capacity(1.0, 3, 1, 4), 1u);
  EXPECT_EQ(bounded_capacity(1.5, 1, 1, 3), 1u);
  // Weighted: 1.25 × 10 × 2 / 5 = 5 exactly; one more in flight: 1.25 × 11 × 2 / 5 = 5.5 → 6.
  EXPECT_EQ(bounded_capacity(1.25, 9, 2, 5), 5u);
  EXPECT_EQ(bounded_capacity(1.25, 10, 2, 5), 6u);
  // An idle pool still admits the first request anywhere: ceil(1.25 × 1 × 1 / 100) = 1.
  EXPECT_EQ(bounded_capacity(1.25, 0, 1, 100), 1u);
}

TEST(BoundedCapacity, AlwaysLeavesRoomSomewhere) {
  // Σ_i ceil(c (t+1) w_i / W) ≥ c (t+1) > t, so with t in flight some backend has room.
  const std::vector<std::uint32_t> w = {1, 3, 2, 7, 1};
  std::uint64_t W = 14;
  for (double c : {1.0, 1.1, 1.25, 2.0})
    for (std::uint64_t t = 0; t < 2000; ++t) {
      std::uint64_t sum = 0;
      for (auto wi : w) sum += bounded_capacity(c, t, wi, W);
      ASSERT_GT(sum, t) << "c=" << c << " t=" << t;
    }
}

namespace {

struct bounded_sim {
  std::uint64_t placements = 0;
  std::uint64_t spilled = 0;        // placed past the key's owner because the owner was full
  std::uint64_t over_bound = 0;     // placements that left a backend above its bound
};

// Replays a skewed stream with arrivals and departures; `bounded` selects pick_first with the
// bounded-load test or the plain owner.
bounded_sim simulate(const hash_ring& r, const std::vector<std::uint32_t>& w, double c, bool bounded,
                     std::uint64_t seed) {
  std::uint64_t W = 0;
  for (auto x : w) W += x;
  modelgate::test::skewed_keys keys(1000, 1.1, seed);
  std::vector<std::uint64_t> in_flight(w.size());
  std::vector<std::size_t> active;  // backend of each request in flight
  bounded_sim s;
  for (int step = 0; step < 200'000; ++step) {
    double p_arrive = active.size() < 32 ? 0.9 : active.size() > 512 ? 0.1 : 0.5;
    if (keys.uniform() < p_arrive) {
      auto h = hash64(keys.next_key());
      const std::uint64_t total = active.size();
      auto fits = [&](std::size_t b) { return in_flight[b] + 1 <= bounded_capacity(c, total, w[b], W); };
      auto b = bounded ? r.pick_first(h, fits) : r.pick(h);
      EXPECT_TRUE(b);
      if (!b) return s;
      auto owner = *r.pick(h);
      if (*b != owner) {
        ++s.spilled;
        // Only a full owner passes a request along the ring.
        EXPECT_FALSE(fits(owner));
      }
      if (!fits(*b)) ++s.over_bound;
      ++in_flight[*b];
      active.push_back(*b);
      ++s.placements;
    } else if (!active.empty()) {
      auto i = keys.raw() % active.size();
      --in_flight[active[i]];
      active[i] = active.back();
      active.pop_back();
    }
  }
  return s;
}

}  // namespace

TEST(BoundedLoads, NeverExceededUnderSkewedKeys) {
  // Zipf s = 1.1 over 1000 keys: the hottest key alone is 18% of requests, so plain consistent
  // hashing overloads its owner; with bounded loads no placement may exceed
  // ceil(c × (total + 1) × w / W).
  const std::vector<std::uint32_t> w = {1, 1, 2, 1, 3, 1, 1, 2};
  hash_ring r(names_of(w.size()), w);
  for (double c : {1.0, 1.25, 2.0}) {
    auto s = simulate(r, w, c, true, 42);
    EXPECT_GT(s.placements, 90'000u);
    EXPECT_EQ(s.over_bound, 0u) << "c=" << c;
    EXPECT_GT(s.spilled, 0u) << "c=" << c << ": the stream never tested the bound";
  }
  // The same stream without the bound does exceed it: the test above can fail.
  EXPECT_GT(simulate(r, w, 1.25, false, 42).over_bound, 0u);
}

TEST(BoundedLoads, LooseBoundKeepsAffinity) {
  // With c = 100 nobody is ever full, so every request goes to its key's owner.
  const std::vector<std::uint32_t> w = {1, 1, 1, 1};
  hash_ring r(names_of(w.size()), w);
  auto s = simulate(r, w, 100.0, true, 7);
  EXPECT_EQ(s.spilled, 0u);
  EXPECT_EQ(s.over_bound, 0u);
}
