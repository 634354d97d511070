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

worker::worker(std::shared_ptr<runtime_state> state, unsigned index)
    : process_(state->process), index_(index), rng_(std::random_device{}()) {
  view_ = make_view(std::move(state));
}

std::shared_ptr<worker_view> worker::make_view(std::shared_ptr<runtime_state> state) {
  auto v = std::make_shared<worker_view>();
  auto& st = *state;
  const worker_view* old = view_.get();
  // The quota gate holds this worker's Redis connections: keep it while the store is the same.
  if (old && old->state->quota.local_ptr == st.quota.local_ptr && old->state->cfg.quota_store == st.cfg.quota_store &&
      old->state->quota.enabled() == st.quota.enabled())
    v->quota = old->quota;
  else
    v->quota = std::make_shared<worker_quota>(st.quota, io_.get_executor());
  for (std::size_t i = 0; i < st.pools.size(); ++i) {
    std::shared_ptr<upstream_pool> reused;
    if (old)
      for (std::size_t j = 0; j < old->state->pools.size() && !reused; ++j)
        if (old->state->pools[j] == st.pools[i]) reused = old->pools[j];
    v->pools.push_back(reused ? reused
                              : std::make_shared<upstream_pool>(io_.get_executor(), st.pool(i),
                                                                st.backend_tls[i],
                                                                st.metrics.pool(i).upstream));
    v->balancers.emplace_back(st.pool(i), rng_());
  }
  v->state = std::move(state);
  return v;
}

std::string worker::next_request_id() { return format_request_id(rng_(), rng_()); }

std::vector<worker_acceptor> worker::open_acceptors(const std::vector<config::listener>& listeners,
                                                    std::vector<std::uint16_t>& ports) {
  std::vector<worker_acceptor> out;
  ports.resize(listeners.size(), 0);
  for (std::size_t i = 0; i < listeners.size(); ++i) {
    const auto& l = listeners[i];
    auto address = asio::ip::make_address(l.address.host);
    tcp::endpoint ep(address, ports[i] ? ports[i] : l.address.port);
    tcp::acceptor acc(io_);
    acc.open(ep.protocol());
    acc.set_option(tcp::acceptor::reuse_address(true));
    int one = 1;
    if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw std::system_error(errno, std::generic_category(), "SO_REUSEPORT");
    acc.bind(ep);
    acc.listen(asio::socket_base::max_listen_connections);
    // Port 0: every later worker joins the port the kernel chose for the first.
    ports[i] = acc.local_endpoint().port();
    out.push_back(worker_acceptor{listener_key(l), std::move(acc)});
  }
  return out;
}

void worker::start(std::vector<worker_acceptor> acceptors) {
  for (auto& a : acceptors) {
    acceptors_.push_back(std::make_unique<worker_acceptor>(std::move(a)));
    asio::co_spawn(io_, accept_loop(acceptors_.back().get()), log_escaped("accept loop failed"));
  }
}

void worker::adopt(std::shared_ptr<runtime_state> next, std::vector<worker_acceptor> added) {
  view_ = make_view(std::move(next));
  // Listeners the new file dropped stop accepting; their loops end and free their slot.
  for (auto& a : acceptors_) {
    if (a && !view_->state->listener_index(a->key)) {
      boost::system::error_code ignored;
      a->acceptor.close(ignored);
    }
  }
  start(std::move(added));
}

asio::awaitable<void> worker::accept_loop(worker_acceptor* entry) {
  auto& acc = entry->acceptor;
  boost::system::error_code port_ec;
  const auto port = acc.local_endpoint(port_ec).port();
  std::uint64_t failures = 0;  // accepts failed in a row
  std::chrono::steady_clock::time_point reported;
  for (;;) {
    auto [ec, socket] = co_await acc.async_accept(tok);
    if (ec == asio::error::operation_aborted || !acc.is_open()) break;
    auto& st = state();
    if (ec) {
      // Out of file descriptors (EMFILE/ENFILE): back off instead of spinning, and say so at
      // once and then every 5 s while it lasts, not at every retry.
      const auto now = std::chrono::steady_clock::now();
      if (++failures == 1 || now - reported >= std::chrono::seconds(5)) {
        spdlog::warn("accept on {} (port {}) failed: {} (open connections: {}, {} failed accepts "
                     "in a row); retrying every 100 ms, new clients wait in the listen backlog",
                     entry->key, port, ec.message(), st.connections.load(), failures);
        reported = now;
      }
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(tok);
      continue;
    }
    if (failures > 0) {
      spdlog::info("accept on {} (port {}) works again after {} failed accepts", entry->key, port,
                   failures);
      failures = 0;
    }
    auto listener_index = st.listener_index(entry->key);
    if (!listener_index) break;  // a reload removed this listener; the socket closes here
    if (st.connections.load(std::memory_order_relaxed) >= st.cfg.limit.max_connections) {
      st.metrics.downstream_rejected.Increment();
      continue;  // the socket closes here
    }
    if (!st.quota.peer_allowed(*listener_index, socket)) continue;  // closes it, counted
    boost::system::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    if (peer_ec) continue;  // already gone
    auto slot = process_.per_ip.try_add(peer.address(), st.cfg.limit.max_connections_per_ip);
    if (!slot) {
      st.metrics.downstream_rejected_per_ip.Increment();
      continue;  // the socket closes here
    }
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    start_session(*this, std::move(socket), *listener_index, peer.address().to_string(),
                  std::move(*slot));
  }
  // Free the slot of a listener that is gone for good (drain closes but keeps them all).
  for (auto& a : acceptors_)
    if (a.get() == entry && !process_.draining.load()) a.reset();
  std::erase(acceptors_, nullptr);
}

void worker::drain() {
  for (auto& a : acceptors_) {
    boost::system::error_code ignored;
    a->acceptor.close(ignored);
  }
  // Copy: closing may finish a session and erase it from the set.
  std::vector<session_base*> sessions(sessions_.begin(), sessions_.end());
  for (auto* s : sessions)
    if (sessions_.contains(s)) s->close_if_idle();
}

}  // namespace modelgate::proxy
