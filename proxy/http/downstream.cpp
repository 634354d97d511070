#include "proxy/http/downstream.hpp"

#include "proxy/http/client_cert.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <array>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t read_chunk = 4096;
}  // namespace

downstream::downstream(tcp::socket socket, ssl::context* tls_ctx, std::string ip)
    : stream(std::move(socket)),
      deadline(stream.get_executor(), [this] { cancel(); }),
      client_ip(std::move(ip)),
      tls(tls_ctx != nullptr),
      tls_context_(tls_ctx) {}

void downstream::cancel() {
  boost::system::error_code ignored;
  stream.socket().cancel(ignored);
}

asio::awaitable<bool> downstream::handshake(std::chrono::milliseconds timeout) {
  if (!tls_context_) co_return true;
  auto& s = stream.start_tls(*tls_context_);
  deadline.expires_after(timeout);
  auto [ec] = co_await s.async_handshake(ssl::stream_base::server, tok);
  deadline.disarm();
  if (ec) co_return false;
  // Once per connection: every request on it carries the same identity.
  client_cert = forwarded_client_cert(s.native_handle());
  co_return true;
}

asio::awaitable<bool> downstream::wait_for_data(std::chrono::milliseconds timeout) {
  if (buffer.size() > 0) co_return true;  // a pipelined request is already here
  // Idle plain connections hold no read buffer: wait until the socket is readable, then
  // allocate one (4 KiB per connection otherwise; 10,000 idle clients would pin 40 MiB). Not
  // for TLS: Asio's TLS layer may already hold the request (read with the end of the handshake),
  // and the socket would then never become readable for it.
  if (!stream.is_tls()) {
    // Under load the next request is usually here already: take it without waiting (waiting
    // would cost an epoll_ctl and an epoll_wait round before the read).
    boost::system::error_code rec;
    auto& socket = stream.socket();
    if (!socket.non_blocking()) socket.non_blocking(true, rec);  // once: an ioctl
    const auto got = rec ? 0 : socket.read_some(buffer.prepare(read_chunk), rec);
    if (!rec) {
      buffer.commit(got);
      co_return true;
    }
    if (rec != asio::error::would_block) co_return false;
  }
  buffer.shrink_to_fit();
  deadline.expires_after(timeout);
  if (!stream.is_tls()) {
    auto [wec] = co_await stream.socket().async_wait(tcp::socket::wait_read, tok);
    if (wec) {
      deadline.disarm();
      co_return false;
    }
  }
  auto [ec, n] = co_await stream.async_read_some(buffer.prepare(read_chunk), tok);
  deadline.disarm();
  if (ec) co_return false;
  buffer.commit(n);
  co_return true;
}

asio::awaitable<boost::system::error_code> downstream::read_body(
    request_parser& parser, const config::limits& lim, std::chrono::steady_clock::time_point last,
    std::uint64_t& bytes_in) {
  const auto began = std::chrono::steady_clock::now();
  std::uint64_t got = 0;
  while (!parser.is_done()) {
    auto allowance = lim.body_timeout;
    if (lim.min_body_rate > 0) allowance += std::chrono::seconds(got / lim.min_body_rate);
    deadline.expires_at(std::min(began + allowance, last));
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, tok);
    got += n;
    bytes_in += n;
    if (!ec) continue;
    deadline.disarm();
    co_return deadline.expired() ? make_error_code(proxy_errc::body_timeout) : ec;
  }
  deadline.disarm();
  co_return boost::system::error_code{};
}

asio::awaitable<bool> downstream::send_error(proxy_errc e, std::string_view request_id,
                                             bool keep_alive) {
  const auto& info = describe(e);
  http::fields extra;
  if (info.retry_after_s) extra.set(http::field::retry_after, std::to_string(info.retry_after_s));
  return send_json_error(static_cast<unsigned>(info.status), info.label, info.message, request_id,
                         keep_alive, std::move(extra));
}

asio::awaitable<bool> downstream::send_json_error(unsigned status, std::string_view type,
                                                  std::string_view message,
                                                  std::string_view request_id, bool keep_alive,
                                                  http::fields extra) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "modelgate");
  res.set(http::field::content_type, "application/json");
  if (!request_id.empty()) res.set("x-request-id", request_id);
  for (const auto& h : extra) res.set(h.name_string(), h.value());
  // Boost.JSON escapes what a message may hold (quotes, backslashes, control characters).
  boost::json::object error;
  error["code"] = status;
  error["type"] = type;
  error["message"] = message;
  std::string body = boost::json::serialize(boost::json::object{{"error", std::move(error)}});
  body += '\n';
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  deadline.expires_after(std::chrono::seconds(5));
  auto [ec, n] = co_await http::async_write(stream, res, tok);
  deadline.disarm();
  co_return !ec;
}

asio::awaitable<void> downstream::close_gracefully() {
  // Bounded: a client that never answers close_notify or never closes holds nothing for long.
  deadline.expires_after(std::chrono::seconds(1));
  boost::system::error_code ec;
  if (stream.is_tls()) {
    std::tie(ec) = co_await stream.tls().async_shutdown(tok);
  } else {
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::array<char, 4096> sink;
    std::size_t drained = 0;
    while (!ec && drained < 256 * 1024) {
      std::size_t n = 0;
      std::tie(ec, n) = co_await stream.async_read_some(asio::buffer(sink), tok);
      drained += n;
    }
  }
  deadline.disarm();
  stream.socket().close(ec);
}

}  // namespace modelgate::proxy
