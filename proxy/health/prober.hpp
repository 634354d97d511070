#pragma once
// Active health checks and load-report scraping: for every backend of a pool that configures
// `health` or `load_report.scrape`, a coroutine GETs the path every interval (with a timeout) and
// updates the pool's live state. Runs on one io_context (the first worker's); single-threaded.

#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>

namespace modelgate::proxy {

struct probe_result {
  boost::system::error_code ec;
  unsigned status = 0;
  std::string body;
};

/// One GET of `path` on a fresh connection to `backend` at `target` (probes must not borrow, or
/// be hidden by, pooled connections), within `timeout`.
boost::asio::awaitable<probe_result> probe_get(const config::backend& backend, const slot_info& target,
                                               boost::asio::ssl::context* tls, const std::string& path,
                                               std::chrono::milliseconds timeout);

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
