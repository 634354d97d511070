#pragma once
// Per-worker pools of keep-alive connections to one configured pool's backends. A connection is
// lent as a move-only lease; it returns to the pool only through release() after a complete
// response on a keep-alive connection, otherwise the lease closes it. Single-threaded.

#include "config/config.hpp"
#include "proxy/health/pool_live.hpp"
#include "proxy/http/any_stream.hpp"
#include "proxy/http/watchdog.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include <array>
#include <chrono>
#include <memory>
#include <tuple>
#include <vector>

namespace modelgate::proxy {

/// One TCP (or TLS) connection to a backend, with its read buffer and deadline.
struct upstream_conn {
  upstream_conn(const any_stream::executor_type& ex, std::size_t backend_index);
  ~upstream_conn();
  upstream_conn(const upstream_conn&) = delete;
  upstream_conn& operator=(const upstream_conn&) = delete;

  any_stream stream;
  boost::beast::flat_buffer buffer;
  watchdog deadline;
  std::size_t backend;
  std::uint32_t address_generation = 0;  // of the DNS slot's address it was made to
  bool reused = false;
  std::chrono::steady_clock::time_point idle_since{};
  std::array<char, 16 * 1024> relay_buffer;  // response body pieces pass through here

  /// Counts this connection in `gauge` until it is destroyed.
  void count_as_open(prometheus::Gauge* gauge);

 private:
  prometheus::Gauge* open_gauge_ = nullptr;
};

class upstream_pool;

/// Connects `stream` to `backend` (to `ip` when given, else resolving its name; to `port` when
/// not 0, else the configured one), then TLS when `tls` is given. The caller bounds the time
/// (a watchdog cancelling the socket).
asio::awaitable<boost::system::error_code> connect_upstream(any_stream& stream,
                                                            const config::backend& backend,
                                                            ssl::context* tls,
                                                            const std::string& ip = {},
                                                            std::uint16_t port = 0);

/// The address a new connection to backend `b` of `live` must use: empty for a fixed backend
/// (its configured address), the slot's IP (and port) for a DNS slot or a managed replica.
/// Fails when the slot is empty.
boost::system::error_code slot_target(const pool_live& live, std::size_t b, slot_info& target);

class upstream_lease {
 public:
  upstream_lease() = default;
  upstream_lease(upstream_pool* pool, std::unique_ptr<upstream_conn> conn)
      : pool_(pool), conn_(std::move(conn)) {}
  upstream_lease(upstream_lease&&) noexcept = default;
  upstream_lease& operator=(upstream_lease&&) noexcept = default;

  explicit operator bool() const noexcept { return conn_ != nullptr; }
  upstream_conn* operator->() const noexcept { return conn_.get(); }
  upstream_conn& operator*() const noexcept { return *conn_; }

  /// Gives the connection back for reuse: call only after a complete keep-alive response.
  void release();

 private:
  upstream_pool* pool_ = nullptr;
  std::unique_ptr<upstream_conn> conn_;  // destroyed (closed) unless released
};

/// Metric handles for one pool, shared by every worker.
struct upstream_metrics {
  prometheus::Gauge* open_connections = nullptr;
  std::vector<prometheus::Counter*> connect_failures;  // per backend
};

class upstream_pool {
 public:
  /// `tls` holds one client context per backend (nullptr for plain TCP backends).
  upstream_pool(asio::any_io_executor ex, const pool_live& live,
                std::vector<std::shared_ptr<ssl::context>> tls, upstream_metrics metrics);

  /// A connection to backend `b`: an idle pooled one when `allow_reuse`, else a new one within
  /// the pool's connect timeout. error_code is set (lease empty) when connecting failed.
  asio::awaitable<std::tuple<boost::system::error_code, upstream_lease>> acquire(std::size_t b,
                                                                                 bool allow_reuse);

  void release(std::unique_ptr<upstream_conn> conn);

  const config::pool& settings() const noexcept { return cfg_; }
  std::size_t idle_count(std::size_t b) const { return idle_[b].size(); }

 private:
  std::unique_ptr<upstream_conn> take_idle(std::size_t b);

  asio::any_io_executor ex_;
  const pool_live& live_;
  const config::pool& cfg_;
  std::vector<std::shared_ptr<ssl::context>> tls_;
  upstream_metrics metrics_;
  std::vector<std::vector<std::unique_ptr<upstream_conn>>> idle_;  // per backend, LIFO
};

}  // namespace modelgate::proxy
