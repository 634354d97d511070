#include "backend/api/server.hpp"

#include "backend/api/handlers.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/read.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>

namespace modelgate::backend {
namespace {

constexpr auto idle_timeout = std::chrono::seconds(120);

void log_escape(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    spdlog::error("{} failed: {}", what, ex.what());
  }
}

asio::awaitable<void> session(server_context& ctx, tcp::socket socket) {
  connection c(ctx, std::move(socket));
  for (;;) {
    http::request_parser<http::string_body> parser;
    limit(parser);
    c.stream().expires_after(idle_timeout);
    const auto read_start = std::chrono::steady_clock::now();
    auto [ec, n] = co_await http::async_read(c.stream(), c.buffer(), parser, use_tuple);
    if (ec) {
      // Closed or timed out: nothing more to say. Otherwise answer, then close: the rest of
      // what the client sends cannot be framed any more.
      auto refusal = refusal_for(ec);
      if (!refusal) break;
      ctx.busy.fetch_add(1);
      const reply r{refusal->status, kserve::error_body(refusal->message)};
      co_await c.send(r, false);
      ctx.metrics->request("other", r.status,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                         read_start)
                               .count());
      co_await c.linger();
      ctx.busy.fetch_sub(1);
      break;
    }
    c.stream().expires_never();
    const auto start = std::chrono::steady_clock::now();
    ctx.busy.fetch_add(1);
    std::string endpoint = "other";
    auto req = parser.release();
    auto result = co_await handle_request(c, req, endpoint);
    ctx.busy.fetch_sub(1);
    ctx.metrics->request(endpoint, result.status,
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                             .count());
    if (!result.keep_alive || ctx.draining.load()) break;
  }
  boost::system::error_code ignored;
  c.stream().socket().shutdown(tcp::socket::shutdown_both, ignored);
}

asio::awaitable<void> accept_loop(server_context& ctx, tcp::acceptor& acc) {
  for (;;) {
    auto [ec, socket] = co_await acc.async_accept(use_tuple);
    if (!acc.is_open()) co_return;
    if (ec) {
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(acc.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(use_tuple);
      continue;
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(acc.get_executor(), session(ctx, std::move(socket)),
                   [](std::exception_ptr e) { log_escape(e, "session"); });
  }
}

// After a stop signal: wait until nothing is queued, running or being written, then stop.
asio::awaitable<void> drain(server_context& ctx, asio::io_context& io) {
  asio::steady_timer t(io);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (ctx.waiting() + ctx.running() + ctx.busy.load() > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(10));
    co_await t.async_wait(use_tuple);
  }
  spdlog::info("drained; exiting");
  io.stop();
}

}  // namespace

listen_address parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("--listen must be HOST:PORT, not '" + text + "'");
  listen_address a;
  a.host = text.substr(0, colon);
  // [::1]:8080: the brackets only delimit an IPv6 address.
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']')
    a.host = a.host.substr(1, a.host.size() - 2);
  const auto port = std::string_view(text).substr(colon + 1);
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), a.port);
  if (ec != std::errc{} || p != port.data() + port.size())
    throw std::invalid_argument(fmt::format("--listen port must be 0-65535, not '{}'", port));
  return a;
}

int serve_http(server_context& ctx, const listen_address& at,
               std::optional<passed_socket> inherited) {
  asio::io_context io(1);
  tcp::acceptor acc(io);
  if (inherited) {
    acc.assign(inherited->ipv6 ? tcp::v6() : tcp::v4(), inherited->fd);
  } else {
    // A host name (localhost) is resolved once at start-up; the first address is used.
    tcp::resolver resolver(io);
    const auto found = resolver.resolve(at.host, std::to_string(at.port),
                                        tcp::resolver::passive | tcp::resolver::numeric_service);
    const tcp::endpoint ep = found.begin()->endpoint();
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    acc.bind(ep);
    acc.listen(asio::socket_base::max_listen_connections);
  }
  const auto bound = acc.local_endpoint();
  spdlog::info("model '{}' listening on {}:{}{}", ctx.name, bound.address().to_string(),
               bound.port(), inherited ? " (socket passed by the parent: LISTEN_FDS)" : "");
  if (inherited && at.port != 0 && at.port != bound.port())
    spdlog::warn("--listen {}:{} is not used: the passed socket is what this server listens on",
                 at.host, at.port);

  asio::co_spawn(io, accept_loop(ctx, acc), [](std::exception_ptr e) { log_escape(e, "accept"); });
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    spdlog::info("signal {}: not ready any more; finishing queued work", sig);
    ctx.draining.store(true);
    boost::system::error_code ignored;
    acc.close(ignored);
    ctx.close_engine();
    asio::co_spawn(io, drain(ctx, io), [](std::exception_ptr e) { log_escape(e, "drain"); });
  });
  // An exception out of a completion handler (Beast's parser throws std::length_error for a
  // field value over 64 KiB) leaves run(); the operation's coroutine is destroyed with its
  // connection, and every other connection keeps being served.
  for (;;) {
    try {
      io.run();
      break;
    } catch (const std::exception& e) {
      spdlog::error("a connection ended by an exception: {}", e.what());
    }
  }
  return 0;
}

}  // namespace modelgate::backend
