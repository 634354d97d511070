#pragma once
// Typed, validated modelgate configuration. Produced only by load_config(); every value here
// has passed validation, so the rest of the program never re-checks it.

#include "config/auth_config.hpp"
#include "config/cache_config.hpp"

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

  bool operator==(const host_port&) const = default;
};

struct server_tls {
  std::filesystem::path cert;  // PEM chain, absolute after loading
  std::filesystem::path key;   // PEM private key
  // Client certificates (mTLS): verified against this PEM CA bundle when set.
  std::filesystem::path client_ca;
  // With client_ca: a client without a certificate fails the handshake (else it may connect
  // without one, but a certificate it does present must verify).
  bool require_client_cert = false;

  bool operator==(const server_tls&) const = default;
};

struct listener {
  host_port address;
  std::optional<server_tls> tls;
  std::vector<cidr> allow_cidrs;  // empty: any client address

  bool operator==(const listener&) const = default;
};

struct admin {
  host_port address;

  bool operator==(const admin&) const = default;
};

struct limits {
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  duration header_timeout = std::chrono::seconds(10);
  duration idle_timeout = std::chrono::seconds(60);
  duration request_timeout = std::chrono::seconds(300);
  // The body must arrive within body_timeout, plus one second per min_body_rate bytes received
  // (Apache's mod_reqtimeout `body=20,MinRate=500`): a slow upload goes on, a trickle does not.
  duration body_timeout = std::chrono::seconds(20);
  std::size_t min_body_rate = 500;  // bytes per second; 0: body_timeout alone
  std::size_t max_connections = 10000;
  std::size_t max_connections_per_ip = 0;  // open connections of one client address; 0: no limit

  bool operator==(const limits&) const = default;
};

struct access_log {
  enum class target { off, stdout_stream, stderr_stream, file };
  target kind = target::stdout_stream;
  std::filesystem::path path;  // for target::file

  bool operator==(const access_log&) const = default;
};

struct upstream_tls {
  std::filesystem::path ca;  // empty: system default verify paths
  std::string server_name;   // SNI and the name verified; default: the backend host
  bool verify = true;

  bool operator==(const upstream_tls&) const = default;
};

struct backend {
  host_port address;
  std::uint32_t weight = 1;
  std::optional<upstream_tls> tls;
  // A backend written as a DNS name becomes `slots` backends, one per address the name resolves
  // to (re-resolved every pool.dns_refresh); this is slot `slot`. 0 slots: an IP address.
  std::uint16_t slot = 0;
  std::uint16_t slots = 0;
  // A replica slot of a managed pool (slots = max_replicas): the address is {host, 0} and the
  // supervisor gives the slot a port while a replica runs in it.
  bool managed = false;

  /// Metric and log name: the address, plus "#slot" for a slot of a DNS name; "replica#slot" for
  /// a managed replica slot.
  std::string label() const;

  bool operator==(const backend&) const = default;
};

/// Backends one pool may list (a retry's "already tried" set is a fixed-size bitset).
inline constexpr std::size_t max_backends_per_pool = 1024;

enum class balance_policy { round_robin, consistent_hash, least_queue };

/// Where a consistent-hash key comes from ("header:x-session-id", "json:user", "prompt_prefix:64").
struct hash_key {
  enum class source { none, header, cookie, api_key, json_field, prompt_prefix, client_ip };
  source from = source::none;
  std::string name;        // header, cookie or JSON field name
  std::size_t length = 0;  // prompt_prefix bytes

  bool operator==(const hash_key&) const = default;
};

struct scrape_report {
  std::string path = "/metrics";
  std::string metric;  // e.g. vllm:num_requests_waiting (all samples summed)
  duration interval = std::chrono::seconds(1);

  bool operator==(const scrape_report&) const = default;
};

/// How backends tell their queue depth: a response header (ORCA text) and/or a scraped metric.
struct load_report {
  std::string header;  // empty: not read
  std::optional<scrape_report> scrape;
  duration max_age = std::chrono::seconds(5);  // older reports count as zero

  bool operator==(const load_report&) const = default;
};

struct health_check {
  std::string path = "/healthz";
  duration interval = std::chrono::seconds(1);
  duration timeout = std::chrono::milliseconds(500);
  unsigned expect_status = 200;
  unsigned unhealthy_after = 2;
  unsigned healthy_after = 2;

  bool operator==(const health_check&) const = default;
};

/// Passive outlier ejection from live traffic.
struct outlier_detection {
  unsigned consecutive_failures = 5;  // connect failures or 5xx in a row; 0 disables
  duration base_ejection = std::chrono::seconds(10);  // doubles with each ejection, max 10x
  double max_ejected_share = 0.5;

  bool operator==(const outlier_detection&) const = default;
};

struct retry_policy {
  unsigned attempts = 2;  // total tries per request, including the first
  bool on_connect_failure = true;
  bool on_reset = false;                 // upstream closed before any response byte
  std::vector<unsigned> statuses;        // e.g. 502, 503, 504, 429
  duration backoff_base = std::chrono::milliseconds(25);
  duration backoff_max = std::chrono::milliseconds(250);
  double budget = 0.2;                   // retries in flight ≤ budget × active requests (min 3)

  bool operator==(const retry_policy&) const = default;
};

/// A pool whose backends the proxy runs itself: `max_replicas` replica slots, of which an
/// autoscaler keeps between `min_replicas` and `max_replicas` running.
struct managed_pool {
  std::vector<std::string> command;  // argv; every "{port}" in an argument is replaced by the replica's port
  std::filesystem::path workdir;     // default: the config file's directory (absolute after loading)
  std::string host = "127.0.0.1";    // replicas listen here; an IP literal
  // Pass each replica its listening socket as fd 3 (LISTEN_FDS, LISTEN_PID), so its port is never
  // free for another process. The loader's default: on when the program is modelgate-backend.
  bool listen_fds = false;
  unsigned min_replicas = 1;         // 0..max_replicas
  unsigned max_replicas = 1;         // 1..64
  double target_queue_depth = 4;     // > 0: mean in-flight+queued per replica that triggers growth
  duration scale_up_cooldown = std::chrono::seconds(10);
  duration scale_down_cooldown = std::chrono::seconds(60);
  duration scale_window = std::chrono::seconds(10);   // load is averaged over this window
  std::string ready_path = "/v2/health/ready";
  duration ready_timeout = std::chrono::seconds(60);  // not ready by then: killed and restarted
  duration drain_timeout = std::chrono::seconds(30);  // scale-down: wait for in-flight requests
  duration stop_timeout = std::chrono::seconds(10);   // SIGTERM -> SIGKILL
  duration restart_backoff_max = std::chrono::seconds(30);

  bool operator==(const managed_pool&) const = default;
};

/// Replica slots one managed pool may have.
inline constexpr unsigned max_managed_replicas = 64;

struct pool {
  std::string name;
  std::vector<backend> backends;
  duration connect_timeout = std::chrono::seconds(2);
  duration response_timeout = std::chrono::seconds(300);  // request sent → response headers
  duration upstream_idle_timeout = std::chrono::seconds(60);  // pooled idle connection lifetime
  std::size_t max_idle_per_backend = 64;                      // per worker thread
  duration dns_refresh = std::chrono::seconds(5);  // re-resolution of backends given by name

  balance_policy policy = balance_policy::round_robin;
  struct hash_key key;
  double bounded_load = 1.25;  // consistent_hash: capacity factor c (> 1)
  struct load_report report;
  std::optional<health_check> health;
  outlier_detection outliers;
  retry_policy retries;
  std::size_t max_inflight_per_backend = 0;  // circuit breaker; 0: unlimited
  bool panic = true;  // no healthy backend: spread over all (true) or answer 503 (false)
  // Set: the proxy runs this pool's backends; `backends` are the replica slots (see backend).
  std::optional<managed_pool> managed;

  bool operator==(const pool&) const = default;
};

struct header_match {
  std::string name;
  std::string value;

  bool operator==(const header_match&) const = default;
};

struct route {
  std::string name;         // metric label; default: the path prefix
  std::string path_prefix;  // "" matches everything
  std::string path;         // exact path; empty: any
  std::string host;         // Host header without port; empty: any
  std::optional<header_match> header;
  std::vector<std::string> models;  // JSON "model" or KServe /v2/models/{name}; empty: any
  std::string pool;         // name of a pool (validated to exist)
  std::size_t pool_index = 0;
  std::optional<std::size_t> fallback_index;  // pool used when `pool` cannot serve
  std::string fallback;
  bool is_public = false;  // `public: true`: no API key needed
  // A client that closes its sending side (FIN) while the upstream has not answered: true
  // cancels the upstream request (`on_client_close: abort`), false sends the answer (`finish`).
  // A reset always cancels.
  bool half_close_aborts = true;
  route_cache cache;

  bool operator==(const route&) const = default;
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
  // Peers whose X-Forwarded-For / -Proto / -Host, X-Real-IP and Forwarded are kept (another
  // proxy or load balancer in front); from anyone else they are replaced or removed.
  std::vector<cidr> trusted_proxies;
  auth_settings auth;
  quota_store_settings quota_store;
  cache_store cache;
};

}  // namespace modelgate::config
