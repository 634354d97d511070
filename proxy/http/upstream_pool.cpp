#include "proxy/http/upstream_pool.hpp"

#include "proxy/http/proxy_error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>

namespace modelgate::proxy {
namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

// An idle keep-alive connection the backend has closed (or sent anything on) must not be reused.
bool still_open(upstream_conn& c) {
  char byte;
  auto n = ::recv(c.stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}
}  // namespace

asio::awaitable<boost::system::error_code> connect_upstream(any_stream& stream,
                                                            const config::backend& backend,
                                                            ssl::context* tls_context,
                                                            const std::string& ip,
                                                            std::uint16_t port) {
  boost::system::error_code ec;
  tcp::resolver::results_type endpoints;
  auto address = asio::ip::make_address(ip.empty() ? backend.address.host : ip, ec);
  if (port == 0) port = backend.address.port;
  if (!ec) {
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, port), backend.address.host,
                                                    std::to_string(port));
  } else {
    tcp::resolver resolver(stream.get_executor());
    std::tie(ec, endpoints) = co_await resolver.async_resolve(
        backend.address.host, std::to_string(backend.address.port), tok);
  }
  if (!ec) std::tie(ec, std::ignore) = co_await asio::async_connect(stream.socket(), endpoints, tok);
  if (!ec) stream.socket().set_option(tcp::no_delay(true), ec);
  if (!ec && tls_context) {
    auto& tls = stream.start_tls(*tls_context);
    const auto& name = backend.tls->server_name;
    if (!SSL_set_tlsext_host_name(tls.native_handle(), name.c_str()))
      ec = asio::error::invalid_argument;
    if (!ec && backend.tls->verify) tls.set_verify_callback(ssl::host_name_verification(name), ec);
    if (!ec) std::tie(ec) = co_await tls.async_handshake(ssl::stream_base::client, tok);
  }
  co_return ec;
}

boost::system::error_code slot_target(const pool_live& live, std::size_t b, slot_info& target) {
  target = slot_info{};
  if (live.cfg().backends[b].slots == 0) return {};
  target = live.slot_address(b);
  if (target.ip.empty()) return asio::error::host_not_found;
  return {};
}

upstream_conn::upstream_conn(const any_stream::executor_type& ex, std::size_t backend_index)
    : stream(ex),
      // Bounded like the client side: a response header section (64 KiB) plus a chunk-size line
      // or trailers; an upstream cannot make the proxy buffer a line without end.
      buffer(80 * 1024),
      deadline(ex, [this] {
        boost::system::error_code ignored;
        stream.socket().cancel(ignored);
      }),
      backend(backend_index) {}

void upstream_conn::count_as_open(prometheus::Gauge* gauge) {
  open_gauge_ = gauge;
  if (open_gauge_) open_gauge_->Increment();
}

upstream_conn::~upstream_conn() {
  if (open_gauge_) open_gauge_->Decrement();
}

void upstream_lease::release() {
  if (pool_ && conn_) pool_->release(std::move(conn_));
}

upstream_pool::upstream_pool(asio::any_io_executor ex, const pool_live& live,
                             std::vector<std::shared_ptr<ssl::context>> tls,
                             upstream_metrics metrics)
    : ex_(std::move(ex)),
      live_(live),
      cfg_(live.cfg()),
      tls_(std::move(tls)),
      metrics_(std::move(metrics)),
      idle_(cfg_.backends.size()) {}

std::unique_ptr<upstream_conn> upstream_pool::take_idle(std::size_t b) {
  auto now = std::chrono::steady_clock::now();
  auto& idle = idle_[b];
  // A DNS slot that moved to another address makes its pooled connections stale.
  const auto generation = live_.at(b).address_generation.load(std::memory_order_relaxed);
  while (!idle.empty()) {
    auto conn = std::move(idle.back());
    idle.pop_back();
    if (now - conn->idle_since < cfg_.upstream_idle_timeout && conn->address_generation == generation &&
        still_open(*conn)) {
      conn->reused = true;
      return conn;
    }
  }
  return nullptr;
}

asio::awaitable<std::tuple<boost::system::error_code, upstream_lease>> upstream_pool::acquire(
    std::size_t b, bool allow_reuse) {
  if (allow_reuse) {
    if (auto conn = take_idle(b)) co_return std::tuple{boost::system::error_code{}, upstream_lease(this, std::move(conn))};
  }
  const auto& backend = cfg_.backends[b];
  auto conn = std::make_unique<upstream_conn>(ex_, b);
  slot_info target;
  if (auto ec = slot_target(live_, b, target)) {
    if (b < metrics_.connect_failures.size()) metrics_.connect_failures[b]->Increment();
    co_return std::tuple{ec, upstream_lease{}};
  }
  conn->address_generation = target.generation;
  conn->deadline.expires_after(cfg_.connect_timeout);

  auto ec = co_await connect_upstream(conn->stream, backend, tls_[b].get(), target.ip, target.port);
  bool timed_out = conn->deadline.expired();
  conn->deadline.disarm();
  if (ec || timed_out) {
    if (b < metrics_.connect_failures.size()) metrics_.connect_failures[b]->Increment();
    if (timed_out) ec = proxy_errc::upstream_connect_timeout;
    co_return std::tuple{ec, upstream_lease{}};
  }
  // Count the connection as open only once it is usable.
  conn->count_as_open(metrics_.open_connections);
  co_return std::tuple{ec, upstream_lease(this, std::move(conn))};
}

void upstream_pool::release(std::unique_ptr<upstream_conn> conn) {
  auto& idle = idle_[conn->backend];
  if (idle.size() >= cfg_.max_idle_per_backend) return;  // over the cap: closes
  conn->deadline.disarm();
  conn->idle_since = std::chrono::steady_clock::now();
  idle.push_back(std::move(conn));
}

}  // namespace modelgate::proxy
