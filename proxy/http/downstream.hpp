#pragma once
// The client side of a session: its stream, read buffer and deadline, and the few things done to
// it outside the request/response exchange (handshake, waiting for a request, error replies,
// closing). Single-threaded: lives on one worker.

#include "proxy/http/any_stream.hpp"
#include "config/config.hpp"
#include "proxy/http/proxy_error.hpp"
#include "proxy/http/request_head.hpp"
#include "proxy/http/watchdog.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace modelgate::proxy {

class downstream {
 public:
  /// `tls` null: plain HTTP.
  downstream(tcp::socket socket, ssl::context* tls, std::string client_ip);

  any_stream stream;
  boost::beast::flat_buffer buffer;
  watchdog deadline;  // fires → cancels pending I/O on the socket
  const std::string client_ip;
  const bool tls;
  std::string client_cert;  // X-Forwarded-Client-Cert value of a verified client certificate

  /// TLS handshake within `timeout` (true at once for plain connections).
  asio::awaitable<bool> handshake(std::chrono::milliseconds timeout);

  /// Waits until request bytes are buffered; false on close, timeout or cancel().
  asio::awaitable<bool> wait_for_data(std::chrono::milliseconds timeout);

  /// Reads the rest of `parser`'s body within limits.body_timeout plus one second per
  /// min_body_rate bytes received, and never past `last` (the request's deadline): an upload at
  /// any useful speed goes on, a trickle of a byte every few seconds does not hold the
  /// connection. Adds the bytes read to `bytes_in`. Beast's error, or proxy_errc::body_timeout.
  asio::awaitable<boost::system::error_code> read_body(request_parser& parser,
                                                       const config::limits& lim,
                                                       std::chrono::steady_clock::time_point last,
                                                       std::uint64_t& bytes_in);

  /// Sends a JSON error for `e`. Returns false when the write failed.
  asio::awaitable<bool> send_error(proxy_errc e, std::string_view request_id, bool keep_alive);

  /// Sends an answer the proxy makes itself: `{"error":{"code","type","message"}}` with
  /// `extra` headers (Retry-After, rate limits, ...). Returns false when the write failed.
  asio::awaitable<bool> send_json_error(unsigned status, std::string_view type,
                                        std::string_view message, std::string_view request_id,
                                        bool keep_alive, boost::beast::http::fields extra = {});

  /// TLS close_notify or TCP half-close, then drains what the client still sends (so the last
  /// response is not destroyed by a reset), bounded in time and bytes.
  asio::awaitable<void> close_gracefully();

  /// Aborts pending I/O (drain of an idle connection).
  void cancel();

 private:
  ssl::context* tls_context_;
};

}  // namespace modelgate::proxy
