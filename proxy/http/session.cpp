// A downstream connection: wait for a request, run the exchange, repeat while keep-alive holds.
// One coroutine per connection; expected errors end it quietly, never by an exception.

#include "proxy/http/downstream.hpp"
#include "proxy/http/exchange.hpp"
#include "proxy/http/worker.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

namespace modelgate::proxy {
namespace {

class session final : public session_base {
 public:
  // `tls` is the listener's context of the generation that accepted the connection; holding it
  // keeps it alive after a reload brings a new certificate.
  session(worker& w, tcp::socket socket, std::shared_ptr<ssl::context> tls, std::string client_ip,
          ip_connections::slot slot)
      : w_(w), tls_(std::move(tls)), d_(std::move(socket), tls_.get(), std::move(client_ip)),
        active_(w.state().metrics.downstream_active), slot_(std::move(slot)) {
    w_.process().connections.fetch_add(1, std::memory_order_relaxed);
    active_.Increment();
    w_.state().metrics.downstream_accepted.Increment();
    w_.add_session(this);
  }

  ~session() override {
    w_.remove_session(this);
    active_.Decrement();
    w_.process().connections.fetch_sub(1, std::memory_order_relaxed);
  }

  void close_if_idle() override {
    if (idle_) d_.cancel();
  }

  asio::awaitable<void> run() {
    // Limits are read afresh for every wait: a reload may change them, and the generation this
    // connection started in may be gone (never keep a reference to it across a suspension).
    const auto handshake_timeout = w_.state().cfg.limit.header_timeout;
    if (!co_await d_.handshake(handshake_timeout)) {
      w_.state().metrics.tls_handshake_failures.Increment();
      co_return;
    }
    bool first = true;
    for (;;) {
      if (w_.process().draining.load(std::memory_order_relaxed)) break;
      // Nothing has been said yet on this request: a timeout or a drain closes quietly.
      idle_ = true;
      const auto& lim = w_.state().cfg.limit;
      const auto timeout = first ? lim.header_timeout : lim.idle_timeout;
      bool got = co_await d_.wait_for_data(timeout);
      idle_ = false;
      if (!got) break;
      first = false;
      if (!co_await exchange(w_, d_)) break;
    }
    co_await d_.close_gracefully();
  }

 private:
  worker& w_;
  std::shared_ptr<ssl::context> tls_;
  downstream d_;
  prometheus::Gauge& active_;
  ip_connections::slot slot_;
  bool idle_ = false;
};

}  // namespace

void start_session(worker& w, tcp::socket socket, std::size_t listener_index,
                   std::string client_ip, ip_connections::slot slot) {
  auto tls = w.state().listener_tls[listener_index];
  auto s = std::make_unique<session>(w, std::move(socket), std::move(tls), std::move(client_ip),
                                     std::move(slot));
  // The coroutine owns the session: it lives exactly as long as the connection.
  asio::co_spawn(
      w.io(), [s = std::move(s)]() mutable -> asio::awaitable<void> { co_await s->run(); },
      log_escaped("session ended by an exception"));
}

}  // namespace modelgate::proxy
