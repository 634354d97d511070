#pragma once
// Everything built from one configuration that all workers share read-only: the config, route
// table, TLS contexts, metrics and access log. Live counters are atomics.

#include "config/config.hpp"
#include "proxy/http/admission.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/http/cache_runtime.hpp"
#include "proxy/observe/access_log.hpp"
#include "proxy/observe/proxy_metrics.hpp"
#include "proxy/routing/route_table.hpp"

#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <memory>
#include <vector>

namespace modelgate::proxy {

struct runtime_state {
  /// Builds TLS contexts and opens the access log; throws std::runtime_error on failure.
  explicit runtime_state(config::proxy_config c);

  const config::proxy_config cfg;
  const route_table routes;
  proxy_metrics metrics;
  access_log log;
  quota_state quota;  // API keys, per-key quotas, allow_cidrs
  std::vector<std::shared_ptr<boost::asio::ssl::context>> listener_tls;  // null: plain
  std::vector<std::vector<std::shared_ptr<boost::asio::ssl::context>>> backend_tls;  // [pool][backend]

  /// Live counters and verdicts of pool `i`'s backends, shared by every worker.
  pool_live& pool(std::size_t i) { return *pools[i]; }
  std::vector<std::unique_ptr<pool_live>> pools;

  /// The response cache (store, single-flight, policies); null when no route caches.
  std::unique_ptr<cache_runtime> cache;

  /// Copies live per-backend state into the Prometheus gauges and counters (before a scrape).
  void refresh_metrics();

  std::atomic<bool> draining{false};
  std::atomic<std::size_t> connections{0};
};

}  // namespace modelgate::proxy
