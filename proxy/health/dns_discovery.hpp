#pragma once
// Backends given by DNS name: resolves each name at start-up and every pool.dns_refresh, and
// puts each address it returns into a slot of the pool (each slot is a backend of its own with
// its own health, load and ejection state), so a Kubernetes headless service or any
// round-robin DNS name spreads over its hosts. A failed resolution keeps the last addresses.
// Runs on one io_context (the first worker's); single-threaded.

#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <string>
#include <vector>

namespace modelgate::proxy {

class dns_discovery {
 public:
  dns_discovery(boost::asio::io_context& io, std::shared_ptr<runtime_state> state);
  ~dns_discovery();

  /// Resolves every name once, blocking (start-up, before traffic).
  void resolve_now();
  /// Spawns the refresh loops; call once, before the io_context runs.
  void start();
  /// Makes every loop end at its next wake-up. Call on the io_context's thread.
  void stop();

 private:
  struct name_group {
    std::size_t pool;
    std::size_t first;  // index of slot 0 in the pool's backends
    std::size_t slots;
  };

  boost::asio::awaitable<void> refresh_loop(name_group g);
  void apply(const name_group& g, std::vector<std::string> resolved);

  boost::asio::io_context& io_;
  std::shared_ptr<runtime_state> state_;  // each loop holds a copy, so it may outlive this object after stop()
  std::vector<name_group> groups_;
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
};

}  // namespace modelgate::proxy
