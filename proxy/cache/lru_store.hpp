#pragma once
// The in-memory response store: sharded, LRU within each shard, bounded by bytes, with TTL.

#include "proxy/cache/cache_entry.hpp"
#include "proxy/cache/cache_key.hpp"
#include "proxy/cache/cache_policy.hpp"

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modelgate::cache {

/// Sharded LRU keyed by cache_key. Each shard owns max_bytes / shards bytes, so the sum of
/// charges (entry.charge() + entry_overhead_bytes) never exceeds max_bytes. Time is a parameter.
///
/// Thread-safety: every member function may be called from any thread; each takes one shard's
/// mutex for a short section (no allocation of entries, no destruction of evicted entries
/// under the lock). Entries handed out stay valid after eviction (shared ownership); memory
/// held only by such readers is not counted in bytes().
class lru_store {
 public:
  using entry_ptr = std::shared_ptr<const cache_entry>;

  enum class insert_result {
    stored,
    too_large,  // charge above max_entry_bytes(): not stored, nothing evicted
    expired,    // expires_at <= now: not stored
  };

  struct statistics {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t inserts = 0;
    std::uint64_t evictions = 0;  // removed to make room (LRU)
    std::uint64_t expirations = 0;  // found expired on lookup, or purged as expired
    std::uint64_t refused = 0;  // too large or already expired
    std::uint64_t entries = 0;
    std::uint64_t bytes = 0;
  };

  explicit lru_store(const store_settings& s);
  lru_store(const lru_store&) = delete;
  lru_store& operator=(const lru_store&) = delete;

  /// Stores `e` under `key` (replacing any entry there), evicting least recently used entries
  /// of the key's shard until it fits. `e->expires_at` must be set.
  insert_result insert(const cache_key& key, entry_ptr e, time_point now);

  /// The live entry for `key`, or nullptr. An expired entry is removed and counts as a miss.
  /// With `max_age` (client Cache-Control: max-age), an entry older than it is a miss but stays.
  /// A hit makes the entry most recently used.
  entry_ptr lookup(const cache_key& key, time_point now, std::optional<duration> max_age = {});

  /// Removes one entry; true if there was one.
  bool erase(const cache_key& key);
  /// Removes everything; returns how many entries.
  std::size_t purge_all();
  /// Removes the entries recorded for route `route`; returns how many.
  std::size_t purge_route(std::string_view route);
  /// Removes expired entries (an optional sweep; lookups drop expired entries anyway).
  std::size_t purge_expired(time_point now);

  statistics stats() const;
  std::size_t entries() const { return entries_.load(std::memory_order_relaxed); }
  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }

  std::size_t max_bytes() const { return max_bytes_; }
  std::size_t shard_count() const { return shards_.size(); }
  std::size_t shard_capacity() const { return shard_capacity_; }
  /// The largest charge that is stored (recorders should cap at this).
  std::size_t max_entry_bytes() const { return max_entry_bytes_; }
  duration default_ttl() const { return default_ttl_; }

  /// Bytes an entry costs in the store.
  static std::size_t charge_of(const cache_entry& e) { return e.charge() + entry_overhead_bytes; }

 private:
  struct node {
    cache_key key;
    entry_ptr entry;
    std::size_t charge;
  };
  struct shard {
    mutable std::mutex mutex;
    std::list<node> lru;  // front: most recently used
    std::unordered_map<cache_key, std::list<node>::iterator> index;
    std::size_t bytes = 0;
  };

  shard& shard_for(const cache_key& key);
  // Unlinks `it` under the shard lock; the entry is moved to `graveyard` to be freed unlocked.
  void unlink(shard& s, std::list<node>::iterator it, std::vector<entry_ptr>& graveyard);
  template <class Pred>
  std::size_t remove_if(Pred pred, std::atomic<std::uint64_t>* counter);

  std::size_t max_bytes_;
  std::size_t shard_capacity_;
  std::size_t max_entry_bytes_;
  duration default_ttl_;
  std::vector<std::unique_ptr<shard>> shards_;

  std::atomic<std::uint64_t> hits_{0};
  std::atomic<std::uint64_t> misses_{0};
  std::atomic<std::uint64_t> inserts_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> expirations_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> entries_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace modelgate::cache
