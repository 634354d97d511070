#include "proxy/runtime_state.hpp"

#include "proxy/http/tls_context.hpp"

namespace modelgate::proxy {

runtime_state::runtime_state(config::proxy_config c)
    : cfg(std::move(c)), routes(cfg.routes), metrics(cfg), log(cfg.log), quota(cfg, metrics.registry()) {
  for (const auto& l : cfg.listeners)
    listener_tls.push_back(l.tls ? make_server_tls(*l.tls) : nullptr);
  for (const auto& p : cfg.pools) {
    pools.push_back(std::make_unique<pool_live>(p));
    auto& per_backend = backend_tls.emplace_back();
    for (const auto& b : p.backends)
      per_backend.push_back(b.tls ? make_upstream_tls(*b.tls) : nullptr);
  }
  cache = cache_runtime::make(cfg, metrics.registry());
}

void runtime_state::refresh_metrics() {
  if (cache) cache->refresh_metrics();
  const auto now = pool_live::clock::now();
  for (std::size_t p = 0; p < pools.size(); ++p) {
    auto& live = *pools[p];
    const auto& handles = metrics.pool(p).backends;
    for (std::size_t b = 0; b < live.size(); ++b) {
      const auto& s = live.at(b);
      const auto& h = handles[b];
      h.in_flight->Set(static_cast<double>(s.in_flight.load(std::memory_order_relaxed)));
      h.queue_depth->Set(static_cast<double>(live.queued(b, now)));
      h.healthy->Set(live.available(b, now) ? 1 : 0);
      // Counters only go up: add what happened since the last scrape.
      auto sync = [](prometheus::Counter* c, std::uint64_t v) {
        if (auto d = static_cast<double>(v) - c->Value(); d > 0) c->Increment(d);
      };
      sync(h.picks, s.picks.load(std::memory_order_relaxed));
      sync(h.ejections, s.ejections.load(std::memory_order_relaxed));
    }
  }
}

}  // namespace modelgate::proxy
