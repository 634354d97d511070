#pragma once
// The settings the cache core takes: one per store and one per route. Plain values, so the
// config loader (config/) can fill them from YAML without this folder depending on it.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::cache {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

/// Whose answers a route's entries may serve.
enum class key_scope {
  per_api_key,  // the caller's API key id is part of the key: tenants never share answers
  shared,       // `shared: true`: one entry serves every caller
};

/// Which generation requests (JSON body with `prompt` or `messages`) may be cached.
enum class generation_rule {
  deterministic_only,  // only with `temperature: 0` or a `seed`
  always,              // `always: true`
};

/// `cache:` on a route.
struct route_policy {
  bool enabled = false;
  std::optional<duration> ttl;  // unset: store_settings::default_ttl
  key_scope scope = key_scope::per_api_key;
  generation_rule generation = generation_rule::deterministic_only;
  std::vector<std::string> vary;  // request header names that are part of the key
};

/// `cache:` at top level: the in-memory store.
struct store_settings {
  std::size_t max_bytes = 256 * 1024 * 1024;
  duration default_ttl = std::chrono::seconds(300);
  std::size_t shards = 16;           // rounded up to a power of two
  std::size_t max_entry_divisor = 8;  // an entry may take at most 1/divisor of a shard
};

}  // namespace modelgate::cache
