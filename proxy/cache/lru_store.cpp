#include "proxy/cache/lru_store.hpp"

#include <algorithm>
#include <bit>
#include <cassert>

namespace modelgate::cache {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

std::size_t shard_count_for(const store_settings& s) {
  std::size_t n = std::bit_ceil(std::max<std::size_t>(1, s.shards));
  // Tiny stores (tests, misconfiguration) keep at least one maximal entry's worth per shard.
  while (n > 1 && s.max_bytes / n < 4096) n /= 2;
  return n;
}

}  // namespace

lru_store::lru_store(const store_settings& s)
    : max_bytes_(s.max_bytes),
      shard_capacity_(s.max_bytes / shard_count_for(s)),
      max_entry_bytes_(shard_capacity_ / std::max<std::size_t>(1, s.max_entry_divisor)),
      default_ttl_(s.default_ttl) {
  const auto n = shard_count_for(s);
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<shard>());
}

lru_store::shard& lru_store::shard_for(const cache_key& key) {
  // Bytes 8..15 of the digest: independent of the bytes the per-shard hash table uses.
  std::uint64_t v = 0;
  for (std::size_t i = 8; i < 16; ++i) v = (v << 8) | key.digest()[i];
  return *shards_[v & (shards_.size() - 1)];
}

void lru_store::unlink(shard& s, std::list<node>::iterator it, std::vector<entry_ptr>& graveyard) {
  s.bytes -= it->charge;
  bytes_.fetch_sub(it->charge, relaxed);
  entries_.fetch_sub(1, relaxed);
  graveyard.push_back(std::move(it->entry));
  s.index.erase(it->key);
  s.lru.erase(it);
}

lru_store::insert_result lru_store::insert(const cache_key& key, entry_ptr e, time_point now) {
  assert(e);
  const std::size_t charge = charge_of(*e);
  if (charge > max_entry_bytes_) {
    refused_.fetch_add(1, relaxed);
    return insert_result::too_large;
  }
  if (e->expired(now)) {
    refused_.fetch_add(1, relaxed);
    return insert_result::expired;
  }
  std::vector<entry_ptr> graveyard;
  // Allocate the list node outside the lock; splice it in under the lock.
  std::list<node> fresh;
  fresh.push_back(node{key, std::move(e), charge});
  auto& s = shard_for(key);
  {
    std::lock_guard lock(s.mutex);
    if (auto found = s.index.find(key); found != s.index.end()) unlink(s, found->second, graveyard);
    while (s.bytes + charge > shard_capacity_ && !s.lru.empty()) {
      unlink(s, std::prev(s.lru.end()), graveyard);
      evictions_.fetch_add(1, relaxed);
    }
    s.lru.splice(s.lru.begin(), fresh);
    s.index.emplace(key, s.lru.begin());
    s.bytes += charge;
    assert(s.bytes <= shard_capacity_);
    // Under the lock, so the totals never count an entry's removal before its addition.
    bytes_.fetch_add(charge, relaxed);
    entries_.fetch_add(1, relaxed);
  }
  inserts_.fetch_add(1, relaxed);
  return insert_result::stored;
}

lru_store::entry_ptr lru_store::lookup(const cache_key& key, time_point now,
                                       std::optional<duration> max_age) {
  std::vector<entry_ptr> graveyard;
  auto& s = shard_for(key);
  std::unique_lock lock(s.mutex);
  auto found = s.index.find(key);
  if (found == s.index.end()) {
    lock.unlock();
    misses_.fetch_add(1, relaxed);
    return nullptr;
  }
  auto it = found->second;
  if (it->entry->expired(now)) {
    unlink(s, it, graveyard);
    lock.unlock();
    expirations_.fetch_add(1, relaxed);
    misses_.fetch_add(1, relaxed);
    return nullptr;
  }
  if (max_age && it->entry->age(now) > *max_age) {
    lock.unlock();
    misses_.fetch_add(1, relaxed);
    return nullptr;
  }
  s.lru.splice(s.lru.begin(), s.lru, it);
  entry_ptr hit = it->entry;
  lock.unlock();
  hits_.fetch_add(1, relaxed);
  return hit;
}

bool lru_store::erase(const cache_key& key) {
  std::vector<entry_ptr> graveyard;
  auto& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  auto found = s.index.find(key);
  if (found == s.index.end()) return false;
  unlink(s, found->second, graveyard);
  return true;
}

template <class Pred>
std::size_t lru_store::remove_if(Pred pred, std::atomic<std::uint64_t>* counter) {
  std::size_t removed = 0;
  for (auto& sp : shards_) {
    std::vector<entry_ptr> graveyard;
    std::lock_guard lock(sp->mutex);
    for (auto it = sp->lru.begin(); it != sp->lru.end();) {
      auto next = std::next(it);
      if (pred(*it->entry)) {
        unlink(*sp, it, graveyard);
        ++removed;
      }
      it = next;
    }
  }
  if (counter) counter->fetch_add(removed, relaxed);
  return removed;
}

std::size_t lru_store::purge_all() {
  return remove_if([](const cache_entry&) { return true; }, nullptr);
}

std::size_t lru_store::purge_route(std::string_view route) {
  return remove_if([route](const cache_entry& e) { return e.route == route; }, nullptr);
}

std::size_t lru_store::purge_expired(time_point now) {
  return remove_if([now](const cache_entry& e) { return e.expired(now); }, &expirations_);
}

lru_store::statistics lru_store::stats() const {
  statistics st;
  st.hits = hits_.load(relaxed);
  st.misses = misses_.load(relaxed);
  st.inserts = inserts_.load(relaxed);
  st.evictions = evictions_.load(relaxed);
  st.expirations = expirations_.load(relaxed);
  st.refused = refused_.load(relaxed);
  st.entries = entries_.load(relaxed);
  st.bytes = bytes_.load(relaxed);
  return st;
}

}  // namespace modelgate::cache
