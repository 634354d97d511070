#pragma once
// The proxy's Prometheus metrics. Label sets known from the config are resolved once here, so the
// request path only touches pre-made counters (atomics), never the family maps.

#include "config/config.hpp"
#include "proxy/http/upstream_pool.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <string_view>
#include <vector>

namespace modelgate::proxy {

class proxy_metrics {
 public:
  struct route_handles {
    std::array<prometheus::Counter*, 6> by_class{};  // index: status / 100 (0 = no response)
    prometheus::Histogram* duration = nullptr;
  };
  struct backend_handles {
    prometheus::Counter* picks = nullptr;
    prometheus::Counter* ejections = nullptr;
    prometheus::Counter* retries = nullptr;
    prometheus::Gauge* in_flight = nullptr;
    prometheus::Gauge* queue_depth = nullptr;
    prometheus::Gauge* healthy = nullptr;
  };
  struct pool_handles {
    prometheus::Histogram* ttfb = nullptr;
    prometheus::Counter* retries = nullptr;
    upstream_metrics upstream;
    std::vector<backend_handles> backends;
  };

  /// Registers (or, on a reload, finds again) the families in `reg` and resolves this
  /// configuration's label sets. Series of routes and pools a reload removed stay exported.
  proxy_metrics(const config::proxy_config& cfg, std::shared_ptr<prometheus::Registry> reg);

  prometheus::Registry& registry() noexcept { return *registry_; }

  /// Route `i` of the config; `routes().size()` is the handle for requests that matched no route.
  const route_handles& route(std::size_t i) const { return routes_[i]; }
  const route_handles& unrouted() const { return routes_.back(); }
  const pool_handles& pool(std::size_t i) const { return pools_[i]; }

  /// Errors by proxy_errc label (looked up on the error path only).
  void count_error(std::string_view label);

  prometheus::Gauge& downstream_active;
  prometheus::Counter& downstream_accepted;
  prometheus::Counter& downstream_rejected;
  prometheus::Counter& downstream_rejected_per_ip;
  prometheus::Counter& tls_handshake_failures;
  prometheus::Counter& bytes_received;
  prometheus::Counter& bytes_sent;
  prometheus::Counter& client_aborts;
  prometheus::Counter& upstream_aborts;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& errors_;
  std::vector<route_handles> routes_;
  std::vector<pool_handles> pools_;
};

}  // namespace modelgate::proxy
