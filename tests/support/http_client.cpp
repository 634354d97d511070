#include "tests/support/http_client.hpp"

#include <poll.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <optional>
#include <stdexcept>

namespace modelgate::test_support {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using boost::system::error_code;
using tcp = asio::ip::tcp;

std::string streamed_response::body() const {
  std::string all;
  for (const auto& p : pieces) all += p.data;
  return all;
}

struct http_client::impl {
  asio::io_context ioc{1};
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> stream_parser;
  std::chrono::milliseconds timeout{3000};
  std::uint16_t port = 0;

  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }

  // Runs one async operation to completion on our private io_context under the deadline.
  template <class Start>
  error_code run(Start&& start) {
    error_code result;
    lowest().expires_after(timeout);
    ioc.restart();
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.run();
    return result;
  }

  // Calls f with whichever stream is active; f returns an error_code.
  template <class F>
  error_code with_stream(F&& f) {
    if (tls) return f(*tls);
    return f(*plain);
  }

  void connect_tcp(beast::tcp_stream& s) {
    lowest().expires_after(timeout);
    error_code ec;
    ioc.restart();
    s.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                    [&ec](error_code e) { ec = e; });
    ioc.run();
    if (ec) throw boost::system::system_error(ec, "connect");
  }
};

static void throw_if(error_code ec, const char* what) {
  if (ec) throw boost::system::system_error(ec, what);
}

http_client::http_client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;
http_client::~http_client() = default;

http_client http_client::connect(std::uint16_t port) {
  auto p = std::make_unique<impl>();
  p->port = port;
  p->plain = std::make_unique<beast::tcp_stream>(p->ioc);
  p->connect_tcp(*p->plain);
  return http_client(std::move(p));
}

http_client http_client::connect_tls(std::uint16_t port, const std::filesystem::path& ca_file,
                                     const std::string& server_name, const tls_options& opts) {
  auto p = std::make_unique<impl>();
  p->port = port;
  auto* ctx = p->ssl_ctx.native_handle();
  if (opts.min_version) SSL_CTX_set_min_proto_version(ctx, opts.min_version);
  if (opts.max_version) SSL_CTX_set_max_proto_version(ctx, opts.max_version);
  if (!opts.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, opts.ciphers.c_str()) != 1)
    throw std::invalid_argument("cipher list " + opts.ciphers);
  if (!opts.groups.empty() && SSL_CTX_set1_groups_list(ctx, opts.groups.c_str()) != 1)
    throw std::invalid_argument("groups " + opts.groups);
  if (!opts.cert.empty()) {
    p->ssl_ctx.use_certificate_chain_file(opts.cert.string());
    p->ssl_ctx.use_private_key_file(opts.key.string(), ssl::context::pem);
  }
  p->ssl_ctx.load_verify_file(ca_file.string());
  p->ssl_ctx.set_verify_mode(ssl::verify_peer);
  static constexpr unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(p->ssl_ctx.native_handle(), alpn, sizeof alpn);
  p->tls = std::make_unique<ssl::stream<beast::tcp_stream>>(p->ioc, p->ssl_ctx);
  p->tls->set_verify_callback(ssl::host_name_verification(server_name));
  error_code ec;
  asio::ip::make_address(server_name, ec);
  if (ec) SSL_set_tlsext_host_name(p->tls->native_handle(), server_name.c_str());
  p->connect_tcp(p->tls->next_layer());
  throw_if(p->run([&](auto h) { p->tls->async_handshake(ssl::stream_base::client, h); }),
           "tls handshake");
  return http_client(std::move(p));
}

error_code http_client::try_connect(std::uint16_t port) {
  asio::io_context ioc{1};
  beast::tcp_stream s(ioc);
  s.expires_after(std::chrono::seconds(2));
  error_code ec;
  s.async_connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port),
                  [&ec](error_code e) { ec = e; });
  ioc.run();
  return ec;
}

void http_client::set_timeout(std::chrono::milliseconds t) { impl_->timeout = t; }
std::uint16_t http_client::port() const { return impl_->port; }

std::string http_client::alpn() const {
  if (!impl_->tls) return "";
  const unsigned char* data = nullptr;
  unsigned len = 0;
  SSL_get0_alpn_selected(impl_->tls->native_handle(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

std::string http_client::tls_version() const {
  return impl_->tls ? SSL_get_version(impl_->tls->native_handle()) : "";
}

std::string http_client::tls_cipher() const {
  if (!impl_->tls) return "";
  const char* name = SSL_get_cipher_name(impl_->tls->native_handle());
  return name ? name : "";
}

response http_client::roundtrip(request req) {
  send(std::move(req));
  return read_response();
}

response http_client::get(std::string_view target, const header_list& headers) {
  request req{http::verb::get, target, 11};
  for (const auto& [k, v] : headers) req.insert(k, v);
  return roundtrip(std::move(req));
}

response http_client::post(std::string_view target, std::string body, const header_list& headers) {
  request req{http::verb::post, target, 11};
  for (const auto& [k, v] : headers) req.insert(k, v);
  req.body() = std::move(body);
  return roundtrip(std::move(req));
}

void http_client::send(request req) {
  if (req.count(http::field::host) == 0)
    req.set(http::field::host, "127.0.0.1:" + std::to_string(impl_->port));
  if (req.count(http::field::content_length) == 0 && req.count(http::field::transfer_encoding) == 0)
    req.prepare_payload();
  throw_if(impl_->with_stream(
               [&](auto& s) { return impl_->run([&](auto h) { http::async_write(s, req, h); }); }),
           "write request");
}

response http_client::read_response() {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  throw_if(impl_->with_stream([&](auto& s) {
    return impl_->run([&](auto h) { http::async_read(s, impl_->buffer, parser, h); });
  }),
           "read response");
  return parser.release();
}

void http_client::read_header(streamed_response& out) {
  auto& parser = impl_->stream_parser.emplace();
  parser.body_limit(boost::none);
  throw_if(impl_->with_stream([&](auto& s) {
    return impl_->run([&](auto h) { http::async_read_header(s, impl_->buffer, parser, h); });
  }),
           "read response header");
  out.header_at = steady_clock::now();
  out.header = parser.get().base();
  if (parser.is_done()) out.complete = true;
}

bool http_client::read_piece(streamed_response& out) {
  auto& parser = *impl_->stream_parser;
  if (parser.is_done()) {
    out.complete = true;
    return false;
  }
  char buf[16384];
  parser.get().body().data = buf;
  parser.get().body().size = sizeof buf;
  error_code ec = impl_->with_stream([&](auto& s) {
    return impl_->run([&](auto h) { http::async_read_some(s, impl_->buffer, parser, h); });
  });
  if (ec == http::error::need_buffer) ec = {};
  std::size_t n = sizeof buf - parser.get().body().size;
  if (n > 0) out.pieces.push_back({steady_clock::now(), std::string(buf, n)});
  if (ec) {
    out.error = ec;
    return false;
  }
  if (parser.is_done()) {
    out.complete = true;
    return false;
  }
  return true;
}

streamed_response http_client::read_streaming() {
  streamed_response out;
  read_header(out);
  while (read_piece(out)) {
  }
  return out;
}

void http_client::write_raw(std::string_view bytes) { throw_if(try_write_raw(bytes), "write raw"); }

error_code http_client::try_write_raw(std::string_view bytes) {
  return impl_->with_stream([&](auto& s) {
    return impl_->run([&](auto h) { asio::async_write(s, asio::buffer(bytes), h); });
  });
}

bool http_client::wait_readable(std::chrono::milliseconds wait) {
  if (impl_->buffer.size() > 0) return true;
  pollfd p{impl_->lowest().socket().native_handle(), POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

bool http_client::wait_closed(std::chrono::milliseconds wait) {
  impl_->buffer.clear();
  auto deadline = steady_clock::now() + wait;
  char buf[4096];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
    if (left.count() <= 0) return false;
    auto saved = impl_->timeout;
    impl_->timeout = left;
    error_code ec = impl_->with_stream([&](auto& s) {
      return impl_->run([&](auto h) { s.async_read_some(asio::buffer(buf), h); });
    });
    impl_->timeout = saved;
    if (ec == beast::error::timeout) return false;
    if (ec) return true;  // eof, reset, truncated TLS stream: all mean closed
  }
}

void http_client::close() {
  error_code ignored;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->lowest().socket().close(ignored);
}

void http_client::shutdown_write() {
  error_code ec;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
  throw_if(ec, "shutdown(SHUT_WR)");
}

void http_client::reset() {
  error_code ignored;
  impl_->lowest().socket().set_option(asio::socket_base::linger(true, 0), ignored);
  impl_->lowest().socket().close(ignored);
}

}  // namespace modelgate::test_support
