#include "backend/api/connection.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>

#include <chrono>

namespace modelgate::backend {
namespace {

constexpr auto linger_time = std::chrono::seconds(1);
constexpr std::size_t linger_bytes = 1 << 20;

}  // namespace

asio::awaitable<bool> connection::send(const reply& r, bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
  res.set(http::field::server, "modelgate-backend");
  res.set(http::field::content_type, r.content_type);
  res.set("endpoint-load-metrics", ctx_.load_report());
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.body() = r.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  auto [ec, n] = co_await http::async_write(stream_, res, use_tuple);
  co_return !ec;
}

asio::awaitable<bool> connection::start_events() {
  const auto head = fmt::format(
      "HTTP/1.1 200 OK\r\nServer: modelgate-backend\r\nContent-Type: text/event-stream\r\n"
      "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\nendpoint-load-metrics: {}\r\n\r\n",
      ctx_.load_report());
  co_return co_await write_all(head);
}

asio::awaitable<bool> connection::event(std::string_view payload) {
  const std::size_t size = payload.size() + 8;  // "data: " + "\n\n"
  const auto chunk = fmt::format("{:x}\r\ndata: {}\n\n\r\n", size, payload);
  co_return co_await write_all(chunk);
}

asio::awaitable<bool> connection::finish_events() {
  co_return co_await write_all(std::string_view("0\r\n\r\n"));
}

asio::awaitable<bool> connection::write_all(std::string_view data) {
  auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(data), use_tuple);
  co_return !ec;
}

asio::awaitable<void> connection::wait_disconnect() {
  char scratch[512];
  for (;;) {
    auto [ec, n] = co_await stream_.socket().async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) co_return;  // closed, reset, or cancelled because the answer is complete
    discarded_ = true;
  }
}

asio::awaitable<void> connection::linger() {
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(linger_time);
  char scratch[16 * 1024];
  for (std::size_t dropped = 0; dropped < linger_bytes;) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(scratch), use_tuple);
    if (ec) break;  // the client closed too, or the time is up
    dropped += n;
  }
  stream_.expires_never();
}

}  // namespace modelgate::backend
