#pragma once
// Response cache settings: `cache:` at top level (the in-memory store, an optional Redis tier) and
// `cache:` on a route (whether and how that route's answers are cached). Loaded by
// cache_loader.cpp; proxy/ converts them into the cache core's settings.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::config {

/// `cache.redis`: a shared tier several proxies read and write.
struct cache_redis {
  std::string host;
  std::uint16_t port = 0;
  std::string prefix = "modelgate:cache";
  std::chrono::milliseconds timeout{50};  // per command; slower counts as a Redis failure

  bool operator==(const cache_redis&) const = default;
};

/// Top-level `cache:`. Present or not, a route with `cache.enabled` uses these values.
struct cache_store {
  std::size_t max_bytes = 256 * 1024 * 1024;
  std::chrono::milliseconds default_ttl = std::chrono::seconds(300);
  std::size_t shards = 16;
  std::size_t max_entry_divisor = 8;  // an entry may take at most 1/divisor of a shard
  std::chrono::milliseconds coalesce_timeout = std::chrono::seconds(30);  // follower wait
  std::optional<cache_redis> redis;

  bool operator==(const cache_store&) const = default;
};

/// `routes[].cache`.
struct route_cache {
  bool enabled = false;
  std::optional<std::chrono::milliseconds> ttl;  // unset: cache.default_ttl
  bool shared = false;  // one entry for every caller (else the API key is part of the key)
  bool always = false;  // cache generation requests even when not deterministic
  std::vector<std::string> vary;  // request header names (lowercase) that are part of the key
  // Store event streams despite the upstream's `Cache-Control: no-cache`, which SSE servers send
  // by convention (against proxy buffering) rather than to ask for revalidation.
  bool ignore_stream_no_cache = false;

  bool operator==(const route_cache&) const = default;
};

}  // namespace modelgate::config
