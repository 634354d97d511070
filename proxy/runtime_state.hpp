#pragma once
// Shared state in two lifetimes. process_state lives as long as the process (metrics registry,
// access log, connection count, drain flag). runtime_state is one configuration generation:
// everything built from one YAML file (config, route table, TLS contexts, pools, quota and cache
// settings). A reload builds a new generation, carrying over what did not change (the live state
// of an unchanged pool, the cache store, the quota buckets), and swaps it in; requests in flight
// keep the generation they started with (shared_ptr) and finish on it.

#include "config/config.hpp"
#include "proxy/http/admission.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/http/cache_runtime.hpp"
#include "proxy/http/ip_connections.hpp"
#include "proxy/observe/access_log.hpp"
#include "proxy/observe/proxy_metrics.hpp"
#include "proxy/routing/route_table.hpp"

#include <boost/asio/ssl/context.hpp>
#include <prometheus/registry.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::proxy {

struct process_state {
  /// Opens the access log of the first configuration (the log target is fixed for the process).
  explicit process_state(const config::proxy_config& first);

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  access_log log;
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
  ip_connections per_ip;  // for limits.max_connections_per_ip
};

struct runtime_state {
  /// Builds TLS contexts and the shared tables; throws std::runtime_error on failure (nothing of
  /// `previous` is touched then). `previous`: the generation this one replaces, or null.
  runtime_state(config::proxy_config c, process_state& process, const runtime_state* previous = nullptr);

  process_state& process;
  const config::proxy_config cfg;
  const std::uint64_t generation;  // 1 for the first configuration, +1 per successful reload
  const route_table routes;
  proxy_metrics metrics;
  access_log& log;
  quota_state quota;  // API keys, per-key quotas, allow_cidrs
  std::vector<std::shared_ptr<boost::asio::ssl::context>> listener_tls;  // null: plain
  std::vector<std::vector<std::shared_ptr<boost::asio::ssl::context>>> backend_tls;  // [pool][backend]

  /// Live counters and verdicts of pool `i`'s backends, shared by every worker.
  pool_live& pool(std::size_t i) { return *pools[i]; }
  /// Shared with the previous generation when the pool's configuration did not change.
  std::vector<std::shared_ptr<pool_live>> pools;

  /// The response cache (store, single-flight, policies); null when no route caches.
  std::shared_ptr<cache_runtime> cache;

  /// The index of the listener configured as `key` (listener_key()), if this generation has it.
  std::optional<std::size_t> listener_index(const std::string& key) const;

  /// Copies live per-backend state into the Prometheus gauges and counters (before a scrape).
  void refresh_metrics();

  std::atomic<bool>& draining;
  std::atomic<std::size_t>& connections;
};

/// Identifies a listener across reloads: its address as configured (port 0 stays 0).
std::string listener_key(const config::listener& l);

/// Two configurations of one managed pool that differ only in keys its running replicas can
/// follow (min_replicas, target_queue_depth, cooldowns, window, ready path and timeouts): the
/// pool keeps its live state and replicas, and its supervisor takes the new values.
bool scaling_only_change(const config::pool& before, const config::pool& after);

}  // namespace modelgate::proxy
