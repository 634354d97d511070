#pragma once
// The admin listener: GET /metrics (Prometheus text), /healthz (alive), /readyz (accepting
// traffic; 503 while draining). Plain HTTP, meant for a private address.

#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>

namespace modelgate::proxy {

class admin_server {
 public:
  /// Binds `state.cfg.admin_listener` on `io` (port 0: the kernel picks; see port()).
  admin_server(boost::asio::io_context& io, runtime_state& state);

  void start();
  void stop();
  unsigned short port() const;

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  runtime_state& state_;
  boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace modelgate::proxy
