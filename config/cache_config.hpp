#pragma once
// Response cache settings: `cache:` at top level (the in-memory store) and
// `cache:` on a route (whether and how that route's answers are cached). Loaded by
// cache_loader.cpp; proxy/ converts them into the cache core's settings.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::config {

/// Top-level `cache:`. Present or not, a route with `cache.enabled` uses these values.
struct cache_store {
  std::size_t max_bytes = 256 * 1024 * 1024;
  std::chrono::milliseconds default_ttl = std::chrono::seconds(300);
  std::size_t shards = 16;
  std::size_t max_entry_divisor = 8;  // an entry may take at most 1/divisor of a shard
  std::chrono::milliseconds coalesce_timeout = std::chrono::seconds(30);  // follower wait
  // `redis` (a shared tier) is reserved: the loader rejects it until the tier exists.
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
};

}  // namespace modelgate::config
