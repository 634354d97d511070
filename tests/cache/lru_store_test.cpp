#include "proxy/cache/lru_store.hpp"
#include "tests/cache/test_support.hpp"

#include <gtest/gtest.h>

#include <random>

namespace modelgate::cache {
namespace {

using namespace std::chrono_literals;
using test::key_of;
using test::make_entry;
using test::t0;

// A body size whose entry (one piece) costs exactly `charge` bytes in the store.
std::size_t body_for_charge(std::size_t charge) {
  return charge - lru_store::charge_of(*make_entry(0)) - sizeof(std::size_t);
}

// One shard holding exactly `n` entries of `body` bytes each (all with route "r").
store_settings one_shard_for(std::size_t n, std::size_t body) {
  store_settings s;
  s.shards = 1;
  s.max_entry_divisor = 1;
  s.max_bytes = n * lru_store::charge_of(*make_entry(body));
  return s;
}

TEST(LruStore, HitAndMiss) {
  lru_store store(one_shard_for(4, 100));
  EXPECT_EQ(store.lookup(key_of(1), t0), nullptr);
  auto e = make_entry(100);
  ASSERT_EQ(store.insert(key_of(1), e, t0), lru_store::insert_result::stored);
  auto hit = store.lookup(key_of(1), t0 + 1s);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit.get(), e.get());  // shared, not copied
  auto st = store.stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.entries, 1u);
  EXPECT_EQ(st.bytes, lru_store::charge_of(*e));
}

TEST(LruStore, EvictsLeastRecentlyUsed) {
  lru_store store(one_shard_for(3, 100));
  ASSERT_EQ(store.shard_count(), 1u);
  for (int i = 1; i <= 3; ++i) ASSERT_EQ(store.insert(key_of(i), make_entry(100), t0), lru_store::insert_result::stored);
  // Touch 1: now 2 is the least recently used.
  ASSERT_NE(store.lookup(key_of(1), t0), nullptr);
  store.insert(key_of(4), make_entry(100), t0);
  EXPECT_EQ(store.lookup(key_of(2), t0), nullptr);
  EXPECT_NE(store.lookup(key_of(1), t0), nullptr);
  EXPECT_NE(store.lookup(key_of(3), t0), nullptr);
  EXPECT_NE(store.lookup(key_of(4), t0), nullptr);
  EXPECT_EQ(store.stats().evictions, 1u);
  EXPECT_EQ(store.entries(), 3u);
}

TEST(LruStore, EvictsByBytesNotByCount) {
  // Room for four small entries; one big entry (about three small ones) evicts the three
  // least recently used and keeps the most recent.
  lru_store store(one_shard_for(4, 1000));
  for (int i = 1; i <= 4; ++i) store.insert(key_of(i), make_entry(1000), t0);
  const auto small = lru_store::charge_of(*make_entry(1000));
  auto big = make_entry(body_for_charge(3 * small - 100));
  ASSERT_LE(lru_store::charge_of(*big), 3 * small);
  ASSERT_GT(lru_store::charge_of(*big), 2 * small);
  ASSERT_EQ(store.insert(key_of(99), big, t0), lru_store::insert_result::stored);
  EXPECT_EQ(store.lookup(key_of(1), t0), nullptr);
  EXPECT_EQ(store.lookup(key_of(2), t0), nullptr);
  EXPECT_EQ(store.lookup(key_of(3), t0), nullptr);
  EXPECT_NE(store.lookup(key_of(4), t0), nullptr);
  EXPECT_NE(store.lookup(key_of(99), t0), nullptr);
  EXPECT_EQ(store.stats().evictions, 3u);
  EXPECT_LE(store.bytes(), store.max_bytes());
}

TEST(LruStore, ReplacingAKeyReplacesItsBytes) {
  lru_store store(one_shard_for(4, 1000));
  store.insert(key_of(1), make_entry(1000), t0);
  auto smaller = make_entry(10);
  store.insert(key_of(1), smaller, t0);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_EQ(store.bytes(), lru_store::charge_of(*smaller));
  EXPECT_EQ(store.lookup(key_of(1), t0).get(), smaller.get());
}

TEST(LruStore, NeverOverMaxBytesUnderRandomInserts) {
  store_settings s;
  s.max_bytes = 1 << 20;
  s.shards = 16;
  s.max_entry_divisor = 4;
  lru_store store(s);
  ASSERT_EQ(store.shard_count(), 16u);
  std::mt19937 rng(12345);
  std::uniform_int_distribution<std::size_t> size(0, store.max_entry_bytes());
  std::uniform_int_distribution<int> key(0, 2000);
  std::size_t stored = 0, refused = 0;
  for (int i = 0; i < 5000; ++i) {
    auto r = store.insert(key_of(key(rng)), make_entry(size(rng)), t0);
    (r == lru_store::insert_result::stored ? stored : refused)++;
    ASSERT_LE(store.bytes(), store.max_bytes()) << "after insert " << i;
    if (i % 7 == 0) store.lookup(key_of(key(rng)), t0);
  }
  EXPECT_GT(stored, 4000u);
  EXPECT_GT(store.stats().evictions, 0u);
  // The totals agree with what is actually held.
  EXPECT_EQ(store.purge_all(), store.stats().entries);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.entries(), 0u);
}

TEST(LruStore, TtlExpiryWithManualClock) {
  lru_store store(one_shard_for(4, 100));
  store.insert(key_of(1), make_entry(100, "r", t0, 10s), t0);
  EXPECT_NE(store.lookup(key_of(1), t0 + 9s), nullptr);
  EXPECT_NE(store.lookup(key_of(1), t0 + 10s - 1ns), nullptr);
  EXPECT_EQ(store.lookup(key_of(1), t0 + 10s), nullptr);
  EXPECT_EQ(store.entries(), 0u);  // removed on the expired lookup
  EXPECT_EQ(store.bytes(), 0u);
  auto st = store.stats();
  EXPECT_EQ(st.expirations, 1u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.hits, 2u);
}

TEST(LruStore, PurgeExpiredSweeps) {
  lru_store store(one_shard_for(4, 100));
  store.insert(key_of(1), make_entry(100, "r", t0, 10s), t0);
  store.insert(key_of(2), make_entry(100, "r", t0, 20s), t0);
  EXPECT_EQ(store.purge_expired(t0 + 15s), 1u);
  EXPECT_EQ(store.entries(), 1u);
  EXPECT_NE(store.lookup(key_of(2), t0 + 15s), nullptr);
}

TEST(LruStore, ClientMaxAgeMissesButKeeps) {
  lru_store store(one_shard_for(4, 100));
  store.insert(key_of(1), make_entry(100, "r", t0, 60s), t0);
  EXPECT_EQ(store.lookup(key_of(1), t0 + 20s, duration(10s)), nullptr);
  EXPECT_NE(store.lookup(key_of(1), t0 + 20s, duration(30s)), nullptr);
  EXPECT_NE(store.lookup(key_of(1), t0 + 20s), nullptr);
  EXPECT_EQ(store.entries(), 1u);
}

TEST(LruStore, ExpiredInsertRefused) {
  lru_store store(one_shard_for(4, 100));
  EXPECT_EQ(store.insert(key_of(1), make_entry(100, "r", t0, 10s), t0 + 10s),
            lru_store::insert_result::expired);
  EXPECT_EQ(store.entries(), 0u);
}

TEST(LruStore, OversizeEntriesRefusedWithoutEvicting) {
  store_settings s;
  s.max_bytes = 64 * 1024;
  s.shards = 1;
  s.max_entry_divisor = 8;
  lru_store store(s);
  EXPECT_EQ(store.max_entry_bytes(), 8 * 1024u);
  store.insert(key_of(1), make_entry(100), t0);
  auto fits = make_entry(body_for_charge(store.max_entry_bytes()));
  EXPECT_EQ(lru_store::charge_of(*fits), store.max_entry_bytes());
  EXPECT_EQ(store.insert(key_of(2), fits, t0), lru_store::insert_result::stored);
  auto too_big = make_entry(body_for_charge(store.max_entry_bytes() + 1));
  EXPECT_EQ(store.insert(key_of(3), too_big, t0), lru_store::insert_result::too_large);
  EXPECT_EQ(store.entries(), 2u);
  EXPECT_EQ(store.stats().evictions, 0u);
  EXPECT_EQ(store.stats().refused, 1u);
}

TEST(LruStore, ShardCountAndEntryShare) {
  store_settings s;
  s.max_bytes = 256 * 1024 * 1024;
  s.shards = 12;  // rounded up to 16
  lru_store store(s);
  EXPECT_EQ(store.shard_count(), 16u);
  EXPECT_EQ(store.shard_capacity(), 16u * 1024 * 1024);
  EXPECT_EQ(store.max_entry_bytes(), 2u * 1024 * 1024);
  EXPECT_LE(store.shard_capacity() * store.shard_count(), store.max_bytes());
}

TEST(LruStore, PurgeByRoute) {
  store_settings s;
  s.max_bytes = 1 << 20;
  lru_store store(s);
  for (int i = 0; i < 30; ++i) store.insert(key_of(i), make_entry(10, i % 3 == 0 ? "chat" : "embed"), t0);
  EXPECT_EQ(store.purge_route("chat"), 10u);
  EXPECT_EQ(store.entries(), 20u);
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(store.lookup(key_of(i), t0) != nullptr, i % 3 != 0) << i;
  EXPECT_EQ(store.purge_route("nothing"), 0u);
  EXPECT_EQ(store.purge_all(), 20u);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(store.stats().evictions, 0u);  // purges are not evictions
}

TEST(LruStore, EntryOutlivesEvictionWhileReferenced) {
  lru_store store(one_shard_for(1, 100));
  store.insert(key_of(1), make_entry(100), t0);
  auto held = store.lookup(key_of(1), t0);
  store.insert(key_of(2), make_entry(100), t0);  // evicts 1
  EXPECT_EQ(store.lookup(key_of(1), t0), nullptr);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->body.size(), 100u);
  EXPECT_EQ(held->piece(0), std::string(100, 'x'));
}

TEST(LruStore, EraseOne) {
  lru_store store(one_shard_for(2, 100));
  store.insert(key_of(1), make_entry(100), t0);
  EXPECT_TRUE(store.erase(key_of(1)));
  EXPECT_FALSE(store.erase(key_of(1)));
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(CacheEntry, AgeAndPieces) {
  auto e = make_entry(0, "r", t0, 60s);
  e->body = "data: a\n\ndata: b\n\n";
  e->piece_ends = {9, 18};
  e->initial_age = 5s;
  EXPECT_EQ(e->piece_count(), 2u);
  EXPECT_EQ(e->piece(0), "data: a\n\n");
  EXPECT_EQ(e->piece(1), "data: b\n\n");
  EXPECT_EQ(e->age(t0), 5s);
  EXPECT_EQ(e->age(t0 + 2999ms), 7s);  // whole seconds, rounded down
  EXPECT_EQ(e->age(t0 - 10s), 5s);     // a clock behind stored_at never goes negative
  EXPECT_FALSE(e->expired(t0 + 59s));
  EXPECT_TRUE(e->expired(t0 + 60s));
}

}  // namespace
}  // namespace modelgate::cache
