#pragma once
// A small blocking HTTP/1.1 client for integration tests: plain or TLS (verified against a
// test CA), keep-alive reuse, raw bytes for malformed requests, and incremental reading of
// a response with arrival times for streaming tests.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelgate::test_support {

namespace http = boost::beast::http;
using request = http::request<http::string_body>;
using response = http::response<http::string_body>;
using header_list = std::vector<std::pair<std::string, std::string>>;
using steady_clock = std::chrono::steady_clock;

/// A piece of response body and when it arrived.
struct timed_piece {
  steady_clock::time_point at;
  std::string data;
};

/// A response read piece by piece.
struct streamed_response {
  http::response_header<> header;
  steady_clock::time_point header_at;
  std::vector<timed_piece> pieces;
  bool complete = false;            // the body ended as framed (last chunk / Content-Length)
  boost::system::error_code error;  // why reading stopped before that (eof, timeout, ...)

  std::string body() const;
};

/// How a TLS client deviates from the defaults (TLS 1.2+, OpenSSL's ciphers, no certificate).
struct tls_options {
  int min_version = 0;  // e.g. TLS1_1_VERSION; 0: OpenSSL's default
  int max_version = 0;  // e.g. TLS1_2_VERSION; 0: the highest supported
  std::string ciphers{};  // TLS 1.2 and older cipher list (OpenSSL syntax); "": default
  std::string groups{};   // key exchange groups offered, e.g. "ffdhe2048"; "": default
  std::filesystem::path cert{};  // client certificate (PEM) to present, with `key`
  std::filesystem::path key{};
};

/// One client connection to 127.0.0.1. Every operation has a deadline (set_timeout, 3 s by
/// default); throwing calls throw boost::system::system_error. Move-only, not thread-safe.
class http_client {
 public:
  /// Plain TCP to 127.0.0.1:port.
  static http_client connect(std::uint16_t port);
  /// TLS to 127.0.0.1:port, offering ALPN http/1.1 and verifying the certificate chain against
  /// `ca_file` and the name `server_name` (also sent as SNI unless it is an IP address).
  static http_client connect_tls(std::uint16_t port, const std::filesystem::path& ca_file,
                                 const std::string& server_name = "localhost",
                                 const tls_options& opts = {});
  /// The outcome of a plain TCP connect to 127.0.0.1:port (then closed).
  static boost::system::error_code try_connect(std::uint16_t port);

  http_client(http_client&&) noexcept;
  http_client& operator=(http_client&&) noexcept;
  ~http_client();

  void set_timeout(std::chrono::milliseconds t);
  std::uint16_t port() const;
  /// The ALPN protocol the server chose ("" for plain or none).
  std::string alpn() const;
  /// The negotiated protocol ("TLSv1.3") and cipher suite; "" for plain connections.
  std::string tls_version() const;
  std::string tls_cipher() const;

  /// Sends `req` (Host defaults to 127.0.0.1:port; Content-Length is set unless framing is
  /// given) and reads the whole response.
  response roundtrip(request req);
  response get(std::string_view target, const header_list& headers = {});
  response post(std::string_view target, std::string body, const header_list& headers = {});

  void send(request req);
  response read_response();

  /// Reads the response header into `out` (records header_at).
  void read_header(streamed_response& out);
  /// Reads the next available body bytes into out.pieces. False once the body is complete or
  /// reading failed (then out.complete / out.error say which).
  bool read_piece(streamed_response& out);
  /// read_header, then read_piece until it returns false. Never throws for body errors.
  streamed_response read_streaming();

  void write_raw(std::string_view bytes);
  /// Like write_raw but returns the error instead of throwing.
  boost::system::error_code try_write_raw(std::string_view bytes);
  /// Whether bytes (or EOF) are ready to read within `wait`. Over TLS this is socket readiness,
  /// which a record without application data (a session ticket) can also cause.
  bool wait_readable(std::chrono::milliseconds wait);
  /// Discards incoming data until the peer closes (true) or `wait` passes (false).
  bool wait_closed(std::chrono::milliseconds wait);

  /// Closes the socket abruptly (no TLS close_notify): a client going away.
  void close();
  /// TCP half-close (shutdown(SHUT_WR)): no more bytes from us; reading still works.
  void shutdown_write();
  /// Closes with SO_LINGER 0, so the peer gets a TCP reset instead of a FIN.
  void reset();

 private:
  struct impl;
  explicit http_client(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace modelgate::test_support
