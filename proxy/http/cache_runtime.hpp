#pragma once
// The response cache's shared state for one configuration: the store, the single-flight table,
// each route's policy and the cache metrics. One instance in runtime_state, used by every
// worker thread (the store and the flight table are sharded and thread-safe).

#include "config/config.hpp"
#include "proxy/cache/cacheability.hpp"
#include "proxy/cache/lru_store.hpp"
#include "proxy/cache/single_flight.hpp"
#include "proxy/http/cache_redis.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <optional>
#include <string_view>
#include <vector>

namespace modelgate::proxy {

/// Thread-safety: every member may be used from any thread (counters are atomics, the store and
/// the flight table lock per shard; policies are immutable).
class cache_runtime {
 public:
  /// Per-route counters, resolved once so the request path never touches a family map.
  struct route_counters {
    prometheus::Counter* hits = nullptr;
    prometheus::Counter* misses = nullptr;
    prometheus::Counter* coalesced = nullptr;
    std::array<prometheus::Counter*, 5> bypasses{};  // by cache::bypass_reason
  };

  /// Null when no route enables caching. `previous` (a reload): its entries and flights carry
  /// over when the store settings (cache.max_bytes, default_ttl, shards, max_entry_divisor) did
  /// not change; route policies always come from the new file.
  static std::shared_ptr<cache_runtime> make(const config::proxy_config& cfg,
                                             prometheus::Registry& registry,
                                             const cache_runtime* previous = nullptr);

  cache_runtime(const config::proxy_config& cfg, prometheus::Registry& registry,
                const cache_runtime* previous = nullptr);

  const cache::route_policy& policy(std::size_t route) const { return policies_[route]; }
  const std::string& route_name(std::size_t route) const { return route_names_[route]; }
  /// cache::encode_route_identity() of the route: the route part of its cache keys.
  const std::string& route_identity(std::size_t route) const { return route_identities_[route]; }
  /// `ignore_stream_no_cache` of the route.
  bool ignores_stream_no_cache(std::size_t route) const { return ignore_stream_no_cache_[route]; }
  const route_counters& counters(std::size_t route) const { return counters_[route]; }
  /// How long a follower waits for its leader before forwarding on its own.
  cache::duration coalesce_timeout() const { return coalesce_timeout_; }

  /// The store and the flight table, shared with the generations before and after this one
  /// while the store settings stay the same.
  struct core {
    explicit core(const cache::store_settings& s) : store(s) {}
    cache::lru_store store;
    cache::single_flight flights;
  };

 private:
  config::cache_store store_cfg_;
  std::shared_ptr<core> core_;

 public:
  cache::lru_store& store;
  cache::single_flight& flights;

  /// Counts an entry stored by the request path.
  void count_store() { stores_->Increment(); }
  /// Counts an entry found in the Redis tier after a local miss.
  void count_redis_hit() { redis_hits_->Increment(); }

  /// The calling worker thread's Redis tier; null when `cache.redis` is not configured.
  /// Thread-local (its connections belong to the worker's io_context and close when the worker
  /// thread exits), so one process runs one cache_runtime with a Redis tier.
  cache_redis_tier* redis_tier();

  /// Removes every entry (nullopt) or those of one route; nullopt when no route has that name.
  std::optional<std::size_t> purge(std::optional<std::string_view> route);

  /// Copies store statistics into the gauges and counters (before a scrape).
  void refresh_metrics();

 private:
  std::vector<cache::route_policy> policies_;
  std::vector<std::string> route_names_;
  std::vector<std::string> route_identities_;
  std::vector<bool> ignore_stream_no_cache_;
  std::vector<route_counters> counters_;
  cache::duration coalesce_timeout_;
  std::optional<config::cache_redis> redis_;
  prometheus::Counter* redis_hits_ = nullptr;
  prometheus::Counter* redis_errors_ = nullptr;
  prometheus::Counter* stores_ = nullptr;
  prometheus::Counter* evictions_ = nullptr;
  prometheus::Counter* expirations_ = nullptr;
  prometheus::Counter* purged_ = nullptr;
  prometheus::Gauge* entries_ = nullptr;
  prometheus::Gauge* bytes_ = nullptr;
  prometheus::Gauge* max_bytes_ = nullptr;
};

}  // namespace modelgate::proxy
