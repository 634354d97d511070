#include "tests/support/fake_upstream.hpp"

#include <strings.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace modelgate::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto tok = asio::as_tuple(asio::use_awaitable);

std::vector<std::string> recorded_request::values(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k.size() == name.size() && ::strncasecmp(k.data(), name.data(), k.size()) == 0)
      out.push_back(v);
  return out;
}

std::string recorded_request::value(std::string_view name) const {
  auto v = values(name);
  return v.empty() ? std::string() : v.front();
}

struct fake_upstream::impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  mutable std::mutex mu;
  std::map<std::string, upstream_behaviour, std::less<>> routes;
  upstream_behaviour fallback;
  std::vector<recorded_request> log;
  std::atomic<std::size_t> connections{0}, open{0}, requests{0}, aborted{0}, body_bytes{0};
  std::uint16_t port = 0;
  std::optional<asio::ssl::context> tls;

  explicit impl(const std::optional<upstream_tls>& t) {
    if (t) {
      tls.emplace(asio::ssl::context::tls_server);
      tls->use_certificate_chain_file(t->cert.string());
      tls->use_private_key_file(t->key.string(), asio::ssl::context::pem);
    }
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.set_option(tcp::acceptor::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    asio::co_spawn(ioc, accept_loop(), [](std::exception_ptr e) {
      if (e) std::cerr << "[fake_upstream] accept loop ended with an exception\n";
    });
    thread = std::thread([this] { ioc.run(); });
  }

  ~impl() {
    asio::post(ioc, [this] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
    });
    ioc.stop();
    thread.join();
  }

  upstream_behaviour lookup(std::string_view target) const {
    auto path = target.substr(0, target.find('?'));
    std::lock_guard lock(mu);
    auto it = routes.find(path);
    return it == routes.end() ? fallback : it->second;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(tok);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) continue;
      std::size_t id = ++connections;
      asio::co_spawn(ioc, serve(std::move(socket), id), [](std::exception_ptr e) {
        if (e) std::cerr << "[fake_upstream] connection ended with an exception\n";
      });
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, std::size_t id) {
    ++open;
    // Counted down however the coroutine ends, including destruction at shutdown.
    struct open_guard {
      std::atomic<std::size_t>& n;
      ~open_guard() { --n; }
    } guard{open};
    if (!tls) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve_requests(stream, id);
      co_return;
    }
    asio::ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
    auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, tok);
    if (!ec) co_await serve_requests(stream, id);
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  }

  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream, std::size_t id) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024 * 1024);
      parser.header_limit(1024 * 1024);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, tok);
      if (ec) break;
      auto req = parser.release();
      record(req, id);
      bool keep = co_await respond(stream, req, lookup(req.target()));
      if (!keep) break;
    }
    auto& socket = beast::get_lowest_layer(stream).socket();
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void record(const http::request<http::string_body>& req, std::size_t id) {
    recorded_request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& f : req) r.headers.emplace_back(f.name_string(), f.value());
    r.body = req.body();
    r.connection = id;
    std::lock_guard lock(mu);
    log.push_back(std::move(r));
    ++requests;
  }

  // Returns whether the connection stays open for another request.
  template <class Stream>
  asio::awaitable<bool> respond(Stream& stream, const http::request<http::string_body>& req,
                                const upstream_behaviour& b) {
    if (b.delay.count() > 0) {
      asio::steady_timer t(ioc, b.delay);
      co_await t.async_wait(tok);
    }
    switch (b.what) {
      case upstream_behaviour::kind::hang_up:
        co_return false;
      case upstream_behaviour::kind::sse:
        co_return co_await stream_events(stream, req, b);
      case upstream_behaviour::kind::fixed:
      case upstream_behaviour::kind::echo_headers:
        break;
    }
    http::response<http::string_body> res{static_cast<http::status>(b.status), 11};
    res.set(http::field::server, "fake-upstream");
    res.set(http::field::content_type, b.content_type);
    for (const auto& [k, v] : b.headers) res.insert(k, v);
    if (b.what == upstream_behaviour::kind::echo_headers) {
      std::string text = std::string(req.method_string()) + " " + std::string(req.target()) + "\n";
      for (const auto& f : req)
        text += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
      res.body() = text + "\n" + req.body();
    } else {
      res.body() = b.body;
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [ec, n] = co_await http::async_write(stream, res, tok);
    if (ec) ++aborted;
    co_return !ec && req.keep_alive();
  }

  template <class Stream>
  asio::awaitable<bool> stream_events(Stream& stream, const http::request<http::string_body>& req,
                                      const upstream_behaviour& b) {
    http::response<http::empty_body> res{static_cast<http::status>(b.status), 11};
    res.set(http::field::server, "fake-upstream");
    res.set(http::field::content_type, b.content_type);
    res.set(http::field::cache_control, "no-cache");
    for (const auto& [k, v] : b.headers) res.insert(k, v);
    res.keep_alive(req.keep_alive());
    res.chunked(true);
    http::response_serializer<http::empty_body> sr(res);
    auto [hec, hn] = co_await http::async_write_header(stream, sr, tok);
    if (hec) {
      ++aborted;
      co_return false;
    }
    asio::steady_timer timer(ioc);
    for (int i = 0; i < b.events; ++i) {
      if (i == b.close_after_events) co_return false;
      if (i > 0 && b.interval.count() > 0) {
        timer.expires_after(b.interval);
        co_await timer.async_wait(tok);
      }
      std::string event = upstream_behaviour::sse_event(i, b.event_bytes);
      auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(event)), tok);
      if (ec) {
        ++aborted;
        co_return false;
      }
      body_bytes += event.size();
    }
    if (b.close_after_events == b.events) co_return false;
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), tok);
    if (ec) ++aborted;
    co_return !ec && req.keep_alive();
  }
};

fake_upstream::fake_upstream(std::optional<upstream_tls> tls)
    : impl_(std::make_unique<impl>(tls)) {}
fake_upstream::~fake_upstream() = default;

std::uint16_t fake_upstream::port() const { return impl_->port; }
std::string fake_upstream::address() const { return "127.0.0.1:" + std::to_string(port()); }

void fake_upstream::on(const std::string& path, upstream_behaviour b) {
  std::lock_guard lock(impl_->mu);
  impl_->routes[path] = std::move(b);
}

void fake_upstream::otherwise(upstream_behaviour b) {
  std::lock_guard lock(impl_->mu);
  impl_->fallback = std::move(b);
}

std::size_t fake_upstream::connections() const { return impl_->connections; }
std::size_t fake_upstream::open_connections() const { return impl_->open; }
std::size_t fake_upstream::requests() const { return impl_->requests; }
std::size_t fake_upstream::aborted_writes() const { return impl_->aborted; }
std::size_t fake_upstream::sse_bytes_written() const { return impl_->body_bytes; }

std::vector<recorded_request> fake_upstream::recorded() const {
  std::lock_guard lock(impl_->mu);
  return impl_->log;
}

recorded_request fake_upstream::last_request() const {
  std::lock_guard lock(impl_->mu);
  if (impl_->log.empty()) throw std::logic_error("fake_upstream: no request yet");
  return impl_->log.back();
}

}  // namespace modelgate::test_support
