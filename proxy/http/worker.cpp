#include "proxy/http/worker.hpp"

#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "proxy/http/header_rewrite.hpp"

namespace modelgate::proxy {
namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
}

worker::worker(runtime_state& state, unsigned index)
    : state_(state), index_(index), rng_(std::random_device{}()) {
  quota_ = std::make_unique<worker_quota>(state.quota, io_.get_executor());
  for (std::size_t i = 0; i < state.cfg.pools.size(); ++i) {
    pools_.push_back(std::make_unique<upstream_pool>(io_.get_executor(), state.pool(i), state.backend_tls[i],
                                                     state.metrics.pool(i).upstream));
    balancers_.emplace_back(state.pool(i), rng_());
  }
}

std::string worker::next_request_id() { return format_request_id(rng_(), rng_()); }

void worker::bind(std::vector<config::listener>& listeners) {
  for (auto& l : listeners) {
    auto address = asio::ip::make_address(l.address.host);
    tcp::endpoint ep(address, l.address.port);
    tcp::acceptor acc(io_);
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    acc.bind(ep);
    acc.listen(asio::socket_base::max_listen_connections);
    // Port 0: every later worker joins the port the kernel chose for the first.
    l.address.port = acc.local_endpoint().port();
    acceptors_.push_back(std::move(acc));
  }
}

void worker::start() {
  for (std::size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_, accept_loop(i), log_escaped("accept loop failed"));
  }
}

asio::awaitable<void> worker::accept_loop(std::size_t listener_index) {
  auto& acc = acceptors_[listener_index];
  auto& m = state_.metrics;
  for (;;) {
    auto [ec, socket] = co_await acc.async_accept(tok);
    if (ec == asio::error::operation_aborted || !acc.is_open()) co_return;
    if (ec) {
      // Out of file descriptors: say so and back off instead of spinning.
      spdlog::warn("accept on listener {} failed: {} (open connections: {})", listener_index,
                   ec.message(), state_.connections.load());
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(tok);
      continue;
    }
    if (state_.connections.load(std::memory_order_relaxed) >= state_.cfg.limit.max_connections) {
      m.downstream_rejected.Increment();
      continue;  // the socket closes here
    }
    if (!state_.quota.peer_allowed(listener_index, socket)) continue;  // closes it, counted
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    start_session(*this, std::move(socket), listener_index);
  }
}

void worker::drain() {
  for (auto& acc : acceptors_) {
    boost::system::error_code ignored;
    acc.close(ignored);
  }
  // Copy: closing may finish a session and erase it from the set.
  std::vector<session_base*> sessions(sessions_.begin(), sessions_.end());
  for (auto* s : sessions)
    if (sessions_.contains(s)) s->close_if_idle();
}

}  // namespace modelgate::proxy
