#pragma once
// One worker thread's world: its io_context, its SO_REUSEPORT acceptors, its upstream pools and
// balancer state, and the sessions it runs. Nothing here is shared with other workers, so the
// request path takes no locks.

#include "proxy/http/client_watch.hpp"
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

/// A worker's share of one configuration generation: its upstream connection pools and balancer
/// state for each of the generation's pools, and its quota gate. An exchange holds the view it
/// started with (shared_ptr) until it ends, so a reload never changes a request midway.
struct worker_view {
  std::shared_ptr<runtime_state> state;
  std::vector<std::shared_ptr<upstream_pool>> pools;
  std::vector<class balancer> balancers;
  std::shared_ptr<worker_quota> quota;
};

/// One listening socket of a worker, identified across reloads by listener_key().
struct worker_acceptor {
  std::string key;
  tcp::acceptor acceptor;
};

class worker {
 public:
  worker(std::shared_ptr<runtime_state> state, unsigned index);

  asio::io_context& io() noexcept { return io_; }
  /// The current generation (on the worker's thread).
  runtime_state& state() noexcept { return *view_->state; }
  process_state& process() noexcept { return process_; }
  /// The current view; hold it across an exchange (on the worker's thread).
  const std::shared_ptr<worker_view>& view() const noexcept { return view_; }
  unsigned index() const noexcept { return index_; }

  /// A uniform random 64-bit draw (backoff jitter).
  std::uint64_t random() { return rng_(); }

  /// A fresh 128-bit request id.
  std::string next_request_id();

  /// Opens one acceptor per listener on this worker's io_context (SO_REUSEPORT, so every worker
  /// listens on the same ports). `ports[i]`, when set, overrides a configured port 0 (the port
  /// the kernel chose for an earlier worker); it is filled in with the bound ports. Any thread;
  /// throws std::system_error (nothing kept).
  std::vector<worker_acceptor> open_acceptors(const std::vector<config::listener>& listeners,
                                              std::vector<std::uint16_t>& ports);

  /// Starts the accept loops of `acceptors`; call once, before io().run().
  void start(std::vector<worker_acceptor> acceptors);

  /// On the worker's thread: switches to generation `next`. Pools whose live state `next` shares
  /// with the current generation keep their pooled connections. `added` acceptors start
  /// accepting; acceptors of listeners `next` does not have are closed (their open connections
  /// go on).
  void adopt(std::shared_ptr<runtime_state> next, std::vector<worker_acceptor> added);

  /// On the worker's thread: stop accepting and close idle connections.
  void drain();

  /// Clients whose requests wait for an upstream answer (on the worker's thread).
  client_watchlist& watchlist() noexcept { return watchlist_; }

  void add_session(session_base* s) { sessions_.insert(s); }
  void remove_session(session_base* s) { sessions_.erase(s); }

 private:
  asio::awaitable<void> accept_loop(worker_acceptor* acceptor);
  std::shared_ptr<worker_view> make_view(std::shared_ptr<runtime_state> state) ;

  process_state& process_;
  unsigned index_;
  asio::io_context io_{1};
  client_watchlist watchlist_{io_.get_executor()};
  std::shared_ptr<worker_view> view_;
  std::vector<std::unique_ptr<worker_acceptor>> acceptors_;
  std::unordered_set<session_base*> sessions_;
  std::mt19937_64 rng_;
};

/// Runs a connection from `client_ip` accepted on listener `listener_index` of the current
/// generation until it closes; `slot` counts it against max_connections_per_ip meanwhile.
void start_session(worker& w, tcp::socket socket, std::size_t listener_index,
                   std::string client_ip, ip_connections::slot slot);

}  // namespace modelgate::proxy
