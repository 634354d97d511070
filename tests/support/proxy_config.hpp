#pragma once
// A modelgate YAML config for tests: one TLS (or plain) listener on 127.0.0.1:0, an admin
// listener on 127.0.0.1:0, one pool "text" routed from a path prefix. Fields are YAML scalars
// as written in the file, so tests can use units ("1s", "16KiB").

#include <string>
#include <vector>

namespace modelgate::test_support {

struct proxy_config {
  unsigned workers = 2;
  bool tls = true;  // listener TLS with server.crt / server.key of the dir
  std::string cert = "server.crt";
  std::string key = "server.key";
  std::string listener_tls_yaml;  // more keys of the listener's tls map, e.g. ", client_ca: x.crt"
  std::vector<std::string> backends;  // "127.0.0.1:PORT"
  std::string backend_tls;            // e.g. "{ ca: ca.crt, server_name: localhost }"; "" = plain
  std::string route_prefix = "/v1/";

  std::string max_header_bytes = "16384";
  std::string max_body_bytes = "8388608";
  std::string header_timeout = "10s";
  std::string idle_timeout = "60s";
  std::string request_timeout = "300s";
  std::string max_connections = "10000";
  std::string limits_yaml;  // more keys of `limits`, each line indented by 2 spaces
  std::string access_log = "stdout";
  std::string drain_timeout = "5s";
  std::string connect_timeout = "2s";
  std::string response_timeout = "60s";
  std::string max_idle_per_backend = "64";
  std::string pool_yaml;   // extra keys of pool "text", each line indented by 4 spaces
  std::string route_yaml;  // extra keys of the route, e.g. ", fallback: spare"
  std::string extra_yaml;  // appended as is (top-level keys)
  std::string more_pools;   // further "  - name: ..." items of `pools`
  std::string more_routes;  // further "  - { ... }" items of `routes`, after the first

  std::string to_yaml() const;
};

}  // namespace modelgate::test_support
