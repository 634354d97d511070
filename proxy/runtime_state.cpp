#include "proxy/runtime_state.hpp"

#include "proxy/http/tls_context.hpp"

namespace modelgate::proxy {

runtime_state::runtime_state(config::proxy_config c)
    : cfg(std::move(c)), routes(cfg.routes), metrics(cfg), log(cfg.log) {
  for (const auto& l : cfg.listeners)
    listener_tls.push_back(l.tls ? make_server_tls(*l.tls) : nullptr);
  for (const auto& p : cfg.pools) {
    auto& per_backend = backend_tls.emplace_back();
    for (const auto& b : p.backends)
      per_backend.push_back(b.tls ? make_upstream_tls(*b.tls) : nullptr);
  }
}

}  // namespace modelgate::proxy
