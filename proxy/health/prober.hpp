#pragma once
// Active health checks and load-report scraping: for every backend of a pool that configures
// `health` or `load_report.scrape`, a coroutine GETs the path every interval (with a timeout) and
// updates the pool's live state. Runs on one io_context (the first worker's); single-threaded.

#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace modelgate::proxy {

class prober {
 public:
  prober(boost::asio::io_context& io, std::shared_ptr<runtime_state> state);
  ~prober();

  /// Spawns the probe loops; call once, before the io_context runs.
  void start();
  /// Makes every loop end at its next wake-up. Call on the io_context's thread.
  void stop();

 private:
  boost::asio::awaitable<void> check_loop(std::size_t pool, std::size_t backend);
  boost::asio::awaitable<void> scrape_loop(std::size_t pool, std::size_t backend);

  boost::asio::io_context& io_;
  std::shared_ptr<runtime_state> state_;  // each loop holds a copy, so it may outlive this object after stop()
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
};

}  // namespace modelgate::proxy
