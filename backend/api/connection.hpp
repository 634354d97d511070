#pragma once
// One client connection of the backend's HTTP server and the ways to answer on it: a whole
// response, or a chunked text/event-stream written event by event. Used from its I/O thread only.

#include "backend/api/request_limits.hpp"
#include "backend/api/server_context.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelgate::backend {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using request = http::request<http::string_body>;
inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// A whole response.
struct reply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers = {};
};

/// How a request ended, for metrics and keep-alive.
struct outcome {
  unsigned status = 200;
  bool keep_alive = true;
};

class connection {
 public:
  connection(server_context& ctx, tcp::socket socket)
      : ctx_(ctx), stream_(std::move(socket)), buffer_(max_read_buffer_bytes) {}

  server_context& ctx() { return ctx_; }
  beast::tcp_stream& stream() { return stream_; }
  beast::flat_buffer& buffer() { return buffer_; }

  /// Writes `r` with the load report; false when the client is gone.
  asio::awaitable<bool> send(const reply& r, bool keep_alive);

  /// 200 text/event-stream, chunked. Then event() per data line and finish().
  asio::awaitable<bool> start_events();
  /// Writes "data: <payload>\n\n" as one chunk.
  asio::awaitable<bool> event(std::string_view payload);
  /// The terminating zero-length chunk.
  asio::awaitable<bool> finish_events();

  /// Completes when the client closes the connection (or sends bytes, which are discarded and
  /// make keep_alive impossible); cancel it with the awaitable `||` operator.
  asio::awaitable<void> wait_disconnect();
  bool input_discarded() const { return discarded_; }

  /// After an error answer: ends the sending side, then reads and drops what the client still
  /// sends (at most 1 MiB, for at most 1 s) so that closing with unread input does not reset
  /// the connection before the client read the answer.
  asio::awaitable<void> linger();

 private:
  /// `data` must stay alive until the write completes.
  asio::awaitable<bool> write_all(std::string_view data);

  server_context& ctx_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // bounded: max_read_buffer_bytes
  bool discarded_ = false;
};

}  // namespace modelgate::backend
