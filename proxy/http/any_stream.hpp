#pragma once
// A connection's byte stream: plain TCP or TLS, chosen at run time (per listener downstream, per
// backend upstream). Models AsyncReadStream/AsyncWriteStream so Beast's HTTP algorithms run over
// either without templating the proxy's code on the stream type.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <memory>
#include <utility>

namespace modelgate::proxy {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

class any_stream {
 public:
  using executor_type = tcp::socket::executor_type;

  explicit any_stream(const executor_type& ex) : tcp_(ex) {}
  explicit any_stream(tcp::socket socket) : tcp_(std::move(socket)) {}

  executor_type get_executor() noexcept { return tcp_.get_executor(); }

  /// The TCP socket: connect (or accept) it first, then call start_tls for TLS.
  tcp::socket& socket() noexcept { return tls_ ? tls_->next_layer() : tcp_; }

  /// Wraps the connected socket in TLS; the handshake is the caller's next step.
  ssl::stream<tcp::socket>& start_tls(ssl::context& ctx) {
    tls_ = std::make_unique<ssl::stream<tcp::socket>>(std::move(tcp_), ctx);
    return *tls_;
  }

  bool is_tls() const noexcept { return tls_ != nullptr; }
  ssl::stream<tcp::socket>& tls() noexcept { return *tls_; }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Token>(token));
    return tcp_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Token>(token));
    return tcp_.async_write_some(buffers, std::forward<Token>(token));
  }

 private:
  tcp::socket tcp_;
  std::unique_ptr<ssl::stream<tcp::socket>> tls_;
};

}  // namespace modelgate::proxy
