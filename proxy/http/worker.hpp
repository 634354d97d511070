#pragma once
// One worker thread's world: its io_context, its SO_REUSEPORT acceptors, its upstream pools and
// balancer state, and the sessions it runs. Nothing here is shared with other workers, so the
// request path takes no locks.

#include "proxy/http/upstream_pool.hpp"
#include "proxy/routing/balancer.hpp"
#include "proxy/runtime_state.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

namespace modelgate::proxy {

/// What a worker needs from a live session during drain.
class session_base {
 public:
  virtual ~session_base() = default;
  /// Closes the connection if it is waiting for a next request; a busy one finishes first.
  virtual void close_if_idle() = 0;
};

class worker {
 public:
  worker(runtime_state& state, unsigned index);

  asio::io_context& io() noexcept { return io_; }
  runtime_state& state() noexcept { return state_; }
  unsigned index() const noexcept { return index_; }

  upstream_pool& pool(std::size_t i) { return *pools_[i]; }
  class balancer& balancer(std::size_t i) { return balancers_[i]; }
  worker_quota& quota() { return *quota_; }

  /// A uniform random 64-bit draw (backoff jitter).
  std::uint64_t random() { return rng_(); }

  /// A fresh 128-bit request id.
  std::string next_request_id();

  /// Binds one acceptor per listener (port taken from `listeners`, updated when it was 0).
  void bind(std::vector<config::listener>& listeners);

  /// Starts the accept loops; call once, before io().run().
  void start();

  /// On the worker's thread: stop accepting and close idle connections.
  void drain();

  void add_session(session_base* s) { sessions_.insert(s); }
  void remove_session(session_base* s) { sessions_.erase(s); }

 private:
  asio::awaitable<void> accept_loop(std::size_t listener_index);

  runtime_state& state_;
  unsigned index_;
  asio::io_context io_{1};
  std::vector<std::unique_ptr<upstream_pool>> pools_;
  std::vector<class balancer> balancers_;
  std::unique_ptr<worker_quota> quota_;
  std::vector<tcp::acceptor> acceptors_;
  std::unordered_set<session_base*> sessions_;
  std::mt19937_64 rng_;
};

/// Runs a connection accepted on listener `listener_index` until it closes.
void start_session(worker& w, tcp::socket socket, std::size_t listener_index);

}  // namespace modelgate::proxy
