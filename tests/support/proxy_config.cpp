#include "tests/support/proxy_config.hpp"

namespace modelgate::test_support {

std::string proxy_config::to_yaml() const {
  std::string y;
  y += "workers: " + std::to_string(workers) + "\n";
  y += "listeners:\n  - address: 127.0.0.1:0\n";
  if (tls) y += "    tls: { cert: " + cert + ", key: " + key + listener_tls_yaml + " }\n";
  y += "admin: { address: 127.0.0.1:0 }\n";
  y += "limits:\n";
  y += "  max_header_bytes: " + max_header_bytes + "\n";
  y += "  max_body_bytes: " + max_body_bytes + "\n";
  y += "  header_timeout: " + header_timeout + "\n";
  y += "  idle_timeout: " + idle_timeout + "\n";
  y += "  request_timeout: " + request_timeout + "\n";
  y += "  max_connections: " + max_connections + "\n";
  y += limits_yaml;
  y += "access_log: { path: " + access_log + " }\n";
  y += "drain_timeout: " + drain_timeout + "\n";
  y += "pools:\n  - name: text\n    backends:\n";
  for (const auto& b : backends) {
    y += "      - { address: " + b + ", weight: 1";
    if (!backend_tls.empty()) y += ", tls: " + backend_tls;
    y += " }\n";
  }
  y += "    connect_timeout: " + connect_timeout + "\n";
  y += "    response_timeout: " + response_timeout + "\n";
  y += "    max_idle_per_backend: " + max_idle_per_backend + "\n";
  y += pool_yaml;
  y += more_pools;
  y += "routes:\n  - { path_prefix: " + route_prefix + ", pool: text" + route_yaml + " }\n";
  y += more_routes;
  y += extra_yaml;
  return y;
}

}  // namespace modelgate::test_support
