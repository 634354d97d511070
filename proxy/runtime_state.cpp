#include "proxy/runtime_state.hpp"

#include "proxy/http/tls_context.hpp"

namespace modelgate::proxy {

process_state::process_state(const config::proxy_config& first) : log(first.log) {}

std::string listener_key(const config::listener& l) { return l.address.str(); }

bool scaling_only_change(const config::pool& before, const config::pool& after) {
  if (!before.managed || !after.managed) return false;
  auto a = after;
  const auto& m = *before.managed;
  auto& n = *a.managed;
  // What a running replica set can follow without a restart: the same command, host, socket
  // handoff, working directory and slot count (max_replicas), anything else of the managed block.
  if (n.command != m.command || n.host != m.host || n.listen_fds != m.listen_fds || n.workdir != m.workdir ||
      n.max_replicas != m.max_replicas)
    return false;
  n = m;
  return a == before;
}

runtime_state::runtime_state(config::proxy_config c, process_state& proc, const runtime_state* previous)
    : process(proc),
      cfg(std::move(c)),
      generation(previous ? previous->generation + 1 : 1),
      routes(cfg.routes),
      metrics(cfg, proc.registry),
      log(proc.log),
      quota(cfg, *proc.registry, previous ? &previous->quota : nullptr),
      draining(proc.draining),
      connections(proc.connections) {
  for (const auto& l : cfg.listeners)
    listener_tls.push_back(l.tls ? make_server_tls(*l.tls) : nullptr);
  for (std::size_t i = 0; i < cfg.pools.size(); ++i) {
    const auto& p = cfg.pools[i];
    // An unchanged pool keeps its live state (health, ejections, DNS slots, managed replicas)
    // and its upstream TLS contexts, so the workers keep its pooled connections too.
    if (previous) {
      for (std::size_t j = 0; j < previous->pools.size(); ++j) {
        if (previous->pools[j]->cfg() == p || scaling_only_change(previous->pools[j]->cfg(), p)) {
          pools.push_back(previous->pools[j]);
          backend_tls.push_back(previous->backend_tls[j]);
          break;
        }
      }
      if (pools.size() == i + 1) continue;
    }
    pools.push_back(std::make_shared<pool_live>(p));
    auto& per_backend = backend_tls.emplace_back();
    for (const auto& b : p.backends)
      per_backend.push_back(b.tls ? make_upstream_tls(*b.tls) : nullptr);
  }
  cache = cache_runtime::make(cfg, *proc.registry, previous ? previous->cache.get() : nullptr);
}

std::optional<std::size_t> runtime_state::listener_index(const std::string& key) const {
  for (std::size_t i = 0; i < cfg.listeners.size(); ++i)
    if (listener_key(cfg.listeners[i]) == key) return i;
  return std::nullopt;
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
