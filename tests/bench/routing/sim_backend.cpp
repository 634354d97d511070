#include "tests/bench/routing/sim_backend.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <charconv>
#include <iostream>

namespace modelgate::bench {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "sim_backend: " << ex.what() << "\n";
  }
}

double header_number(const http::request<http::empty_body>& req, const char* name, double fallback) {
  auto it = req.find(name);
  if (it == req.end()) return fallback;
  double v = 0;
  auto s = it->value();
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && v >= 0 ? v : fallback;
}

}  // namespace

sim_backend::sim_backend(asio::io_context& io, std::string name, unsigned slots, double slowdown,
                         std::uint16_t port)
    : io_(io), acceptor_(io), name_(std::move(name)), slots_(slots), slowdown_(slowdown) {
  tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen(4096);
  port_ = acceptor_.local_endpoint().port();
  for (unsigned i = 0; i < slots_; ++i) free_at_.push(clock::time_point{});
  asio::co_spawn(io_, accept_loop(), log_exception);
}

void sim_backend::close() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> sim_backend::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(tok);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(io_, serve(std::move(socket)), log_exception);
  }
}

sim_backend::clock::time_point sim_backend::admit(clock::duration service) {
  auto now = clock::now();
  auto start = std::max(now, free_at_.top());
  free_at_.pop();
  free_at_.push(start + service);
  return start + service;
}

asio::awaitable<void> sim_backend::serve(tcp::socket socket) {
  boost::beast::flat_buffer buffer;
  asio::steady_timer timer(io_);
  for (;;) {
    http::request<http::empty_body> req;
    auto [rec, rn] = co_await http::async_read(socket, buffer, req, tok);
    if (rec) break;
    ++served_;
    auto cost_ms = header_number(req, "x-cost-ms", 10) * slowdown_;
    auto service =
        std::chrono::duration_cast<clock::duration>(std::chrono::duration<double, std::milli>(cost_ms));
    ++outstanding_;
    timer.expires_at(admit(service));
    co_await timer.async_wait(tok);
    --outstanding_;
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::content_type, "text/plain");
    const auto waiting = std::max<std::int64_t>(0, outstanding_ - static_cast<std::int64_t>(slots_));
    res.set("endpoint-load-metrics", "TEXT named_metrics.queue_depth=" + std::to_string(waiting));
    res.body() = name_;
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, res, tok);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace modelgate::bench
