#pragma once
// Typed, validated modelgate configuration. Produced only by load_config(); every value here
// has passed validation, so the rest of the program never re-checks it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::config {

using duration = std::chrono::milliseconds;

/// A host and port as written ("127.0.0.1:8443", "backend.internal:9002", "[::1]:80").
struct host_port {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;
};

struct server_tls {
  std::filesystem::path cert;  // PEM chain, absolute after loading
  std::filesystem::path key;   // PEM private key
};

struct listener {
  host_port address;
  std::optional<server_tls> tls;
};

struct admin {
  host_port address;
};

struct limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  duration header_timeout = std::chrono::seconds(10);
  duration idle_timeout = std::chrono::seconds(60);
  duration request_timeout = std::chrono::seconds(300);
  std::size_t max_connections = 10000;
};

struct access_log {
  enum class target { off, stdout_stream, stderr_stream, file };
  target kind = target::stdout_stream;
  std::filesystem::path path;  // for target::file
};

struct upstream_tls {
  std::filesystem::path ca;  // empty: system default verify paths
  std::string server_name;   // SNI and the name verified; default: the backend host
  bool verify = true;
};

struct backend {
  host_port address;
  std::uint32_t weight = 1;
  std::optional<upstream_tls> tls;
};

/// Backends one pool may list (a retry's "already tried" set is a fixed-size bitset).
inline constexpr std::size_t max_backends_per_pool = 1024;

struct pool {
  std::string name;
  std::vector<backend> backends;
  duration connect_timeout = std::chrono::seconds(2);
  duration response_timeout = std::chrono::seconds(300);  // request sent → response headers
  duration upstream_idle_timeout = std::chrono::seconds(60);  // pooled idle connection lifetime
  std::size_t max_idle_per_backend = 64;                      // per worker thread
};

struct route {
  std::string name;         // metric label; default: the path prefix
  std::string path_prefix;  // "" matches everything
  std::string pool;         // name of a pool (validated to exist)
  std::size_t pool_index = 0;
};

struct proxy_config {
  std::filesystem::path source;  // the file this came from
  unsigned workers = 0;          // 0 before loading; loading fills hardware threads
  std::vector<listener> listeners;
  std::optional<admin> admin_listener;
  limits limit;
  access_log log;
  duration drain_timeout = std::chrono::seconds(30);
  std::vector<pool> pools;
  std::vector<route> routes;
};

}  // namespace modelgate::config
