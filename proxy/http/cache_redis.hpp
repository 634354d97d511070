#pragma once
// The response cache's optional shared tier: entries in Redis under `<prefix>:<key hex>`, with
// the entry's remaining TTL (PX), so several proxies share hits. Every failure (connect, timeout,
// protocol error, an error reply) reads as a miss and rests the tier for a second: Redis trouble
// degrades to the local store, never to an error for the client.

#include "config/cache_config.hpp"
#include "proxy/cache/cache_key.hpp"
#include "proxy/quota/redis_connection.hpp"

#include <boost/asio/awaitable.hpp>
#include <prometheus/counter.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::proxy {

/// One per worker thread (connections belong to its io_context); use from that thread only.
/// Keeps up to max_connections connections, so concurrent requests on a worker do not queue
/// behind one another; past that a call skips Redis (a miss, or an entry not shared).
class cache_redis_tier {
 public:
  static constexpr std::size_t max_connections = 8;

  cache_redis_tier(config::cache_redis cfg, prometheus::Counter* errors);

  /// The stored bytes for `key`, or nullopt (absent, or Redis failed).
  boost::asio::awaitable<std::optional<std::string>> get(const cache::cache_key& key);
  /// Stores `value` for `ttl` (at least 1 ms); failures are counted, not reported.
  boost::asio::awaitable<void> set(cache::cache_key key, std::string value,
                                   std::chrono::milliseconds ttl);

 private:
  using connection = quota::redis_connection;
  boost::asio::awaitable<std::unique_ptr<connection>> take();
  void give_back(std::unique_ptr<connection> c);
  void failed();
  std::string name_of(const cache::cache_key& key) const;

  config::cache_redis cfg_;
  prometheus::Counter* errors_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;
  std::chrono::steady_clock::time_point rest_until_{};
};

}  // namespace modelgate::proxy
