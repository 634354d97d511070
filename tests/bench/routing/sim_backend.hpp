#pragma once
// A simulated model server for the routing benchmark: `slots` requests run at once, the rest wait
// in FIFO order, like a GPU server with a fixed batch width. A request's service time is its
// `x-cost-ms` header times the server's slowdown. Each answers its own name as the body and
// reports its waiting requests as `endpoint-load-metrics: TEXT named_metrics.queue_depth=N`.
//
// The queue is simulated exactly without waking anyone: an arriving request takes the slot that
// frees first, so its finish time is known on arrival (start = max(now, slot free), finish =
// start + service) and the coroutine just sleeps until then. For a FIFO k-server queue the
// number waiting is max(0, outstanding − k).

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <queue>
#include <string>
#include <vector>

namespace modelgate::bench {

class sim_backend {
 public:
  using clock = std::chrono::steady_clock;

  /// Binds 127.0.0.1:`port` (0: the kernel picks) on `io` and starts accepting; throws
  /// boost::system::system_error when the port is taken. `io` must outlive this object and run
  /// on one thread (all state is unsynchronised).
  sim_backend(boost::asio::io_context& io, std::string name, unsigned slots, double slowdown,
              std::uint16_t port = 0);

  std::uint16_t port() const noexcept { return port_; }
  const std::string& name() const noexcept { return name_; }
  /// Requests accepted (read completely) so far.
  std::uint64_t served() const noexcept { return served_; }
  /// Stops accepting; open connections end when their peers close them.
  void close();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  clock::time_point admit(clock::duration service);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::string name_;
  unsigned slots_;
  double slowdown_;
  std::uint16_t port_ = 0;
  std::uint64_t served_ = 0;
  std::int64_t outstanding_ = 0;
  // When each slot becomes free, earliest first.
  std::priority_queue<clock::time_point, std::vector<clock::time_point>, std::greater<>> free_at_;
};

}  // namespace modelgate::bench
