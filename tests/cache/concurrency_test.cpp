// Several threads hammering the store and the single-flight table: a smoke test for data races
// (meaningful under TSan) and for the byte bound holding under contention. Kept short.

#include "proxy/cache/lru_store.hpp"
#include "proxy/cache/single_flight.hpp"
#include "tests/cache/test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

namespace modelgate::cache {
namespace {

using namespace std::chrono_literals;
using test::key_of;
using test::make_entry;
using test::t0;

TEST(CacheConcurrency, StoreUnderContention) {
  store_settings s;
  s.max_bytes = 256 * 1024;
  s.shards = 8;
  lru_store store(s);
  std::vector<cache_key> keys;
  for (int i = 0; i < 512; ++i) keys.push_back(key_of(i));
  std::atomic<bool> over{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::uniform_int_distribution<std::size_t> k(0, keys.size() - 1);
      std::uniform_int_distribution<std::size_t> size(0, 6000);
      for (int i = 0; i < 20000; ++i) {
        auto now = t0 + std::chrono::milliseconds(i);
        switch (i % 4) {
          case 0: store.insert(keys[k(rng)], make_entry(size(rng), "r", now, 50ms), now); break;
          case 3:
            if (i % 1000 == 3) store.purge_route("r");
            break;
          default:
            if (auto e = store.lookup(keys[k(rng)], now)) {
              // Read the whole entry: it must stay intact even if evicted meanwhile.
              if (e->body.find_first_not_of('x') != std::string::npos) over = true;
            }
        }
        if (store.bytes() > store.max_bytes()) over = true;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(over);
  auto st = store.stats();
  EXPECT_GT(st.hits + st.misses, 0u);
  EXPECT_EQ(store.purge_all(), st.entries);
  EXPECT_EQ(store.bytes(), 0u);
}

TEST(CacheConcurrency, SingleFlightEveryWaiterToldOnce) {
  single_flight sf;
  constexpr int threads_n = 4, per_thread = 2000, keys_n = 8;
  std::atomic<int> told{0}, followed{0}, cancelled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(100 + t));
      for (int i = 0; i < per_thread; ++i) {
        auto key = key_of(static_cast<int>(rng() % keys_n));
        auto j = sf.join(key, t0 + 1s, [&](follower_outcome o) {
          // Runs on whichever thread completes the flight: no thread-local state in here.
          const int n = told.fetch_add(1);
          // A promoted follower finishes at once, half the time by failing.
          if (o.lease) {
            if (n % 2) o.lease.fail();
            else o.lease.complete(make_entry(1));
          }
        });
        if (j.leads()) {
          if (rng() % 3 == 0) j.lease.fail();
          else j.lease.complete(make_entry(1));
        } else {
          followed.fetch_add(1);
          if (rng() % 5 == 0 && sf.cancel(key, j.waiter_id)) cancelled.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // Whatever is left is waiting on flights whose leaders are gone for good only if a lease
  // leaked; the table must be empty once every thread finished its leaders.
  auto st = sf.stats();
  EXPECT_EQ(st.flights, 0u);
  EXPECT_EQ(st.waiting, 0u);
  EXPECT_EQ(told.load() + cancelled.load(), followed.load());
}

}  // namespace
}  // namespace modelgate::cache
