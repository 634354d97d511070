#pragma once
// The admin listener: GET /metrics (Prometheus text), /healthz (alive), /readyz (accepting
// traffic; 503 while draining), POST /admin/reload (re-read the config file) and the cache purge.
// Plain HTTP, meant for a private address. Requests from web pages are refused (admin_guard.hpp)
// and every read is bounded.

#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace modelgate::proxy {

/// What a configuration reload did.
struct reload_outcome {
  bool ok = false;
  std::uint64_t generation = 0;  // the generation serving afterwards
  bool busy = false;             // refused: an earlier reload still waits for managed replicas
  std::string error;             // why the file was rejected (file:line:col: key ...)
  std::vector<std::string> warnings;  // settings that need a restart and were kept
};

/// What the admin listener asks of the server.
struct admin_hooks {
  std::function<std::shared_ptr<runtime_state>()> current;  // any thread
  std::function<boost::asio::awaitable<reload_outcome>()> reload;  // runs on `control`
  boost::asio::any_io_executor control;
};

class admin_server {
 public:
  /// Binds `address` on `io` (port 0: the kernel picks; see port()).
  admin_server(boost::asio::io_context& io, const config::host_port& address, admin_hooks hooks);

  void start();
  void stop();
  unsigned short port() const;

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::io_context& io_;
  admin_hooks hooks_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string host_;  // the configured address's host: a Host that may change state
};

}  // namespace modelgate::proxy
