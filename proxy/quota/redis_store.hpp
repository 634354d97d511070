#pragma once
// The shared quota store: request-rate and token checks for all proxies that use one Redis, each
// one atomic round trip (EVALSHA of redis_scripts; reloaded after NOSCRIPT), over a small pool of
// Asio connections with a deadline per call. It never throws on the data path: failures come back
// as store_errc codes, which the caller maps to `quota_store.on_error`, and are counted.
// Concurrency (max_concurrent) is not shared: it stays per process (local_store).

#include "proxy/quota/decision.hpp"
#include "proxy/quota/quota_limits.hpp"
#include "proxy/quota/redis_connection.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace modelgate::quota {

struct redis_store_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6379;
  std::size_t pool_size = 4;                         // connections per store (per worker)
  std::chrono::milliseconds timeout{50};             // whole call: pool wait, connect, round trips
  std::chrono::milliseconds reconnect_backoff{250};  // fail fast this long after a failed connect
  std::string key_prefix = "modelgate:quota";
};

/// Counters for metrics (read from any thread).
struct redis_store_stats {
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> errors{0};  // calls that returned an error code
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> connects{0};      // successful connects
  std::atomic<std::uint64_t> script_loads{0};  // SCRIPT LOADs (new connections, NOSCRIPT)
  std::atomic<std::uint64_t> noscript{0};      // NOSCRIPT replies seen
};

/// One store per worker thread (io_context): the pool is not locked. Not thread-safe; stats()
/// may be read from anywhere. Destroy it only after the coroutines using it have finished.
class redis_store {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  redis_store(boost::asio::any_io_executor ex, redis_store_options options);
  ~redis_store();
  redis_store(const redis_store&) = delete;
  redis_store& operator=(const redis_store&) = delete;

  /// Opens one connection and loads the scripts, so the first request does not pay for it.
  /// Failing here is not fatal: calls connect and load again by themselves.
  boost::asio::awaitable<boost::system::error_code> start();

  /// Request rate and token reservation for `key_id`, atomically in Redis: both are taken or
  /// neither. The decision has the requests/tokens status for the headers; rejections give
  /// reason rate or tokens with retry_after.
  boost::asio::awaitable<std::tuple<boost::system::error_code, decision>> admit(
      std::string_view key_id, const quota_limits& limits, std::uint64_t token_estimate);

  /// Settles a token reservation (refund or charge). Returns the token status afterwards;
  /// nullopt without a token limit (no round trip then).
  boost::asio::awaitable<std::tuple<boost::system::error_code, std::optional<limit_status>>>
  reconcile(std::string_view key_id, const quota_limits& limits, std::uint64_t reserved,
            std::uint64_t actual);

  /// Closes idle connections (in-flight calls finish or fail by themselves).
  void close();

  const redis_store_stats& stats() const noexcept { return stats_; }
  const redis_store_options& options() const noexcept { return options_; }

 private:
  using connection_ptr = std::unique_ptr<redis_connection>;
  struct waiter;

  // A connection for one call: idle, new, or handed over by release() while waiting.
  boost::asio::awaitable<std::tuple<boost::system::error_code, connection_ptr, bool>> acquire(
      time_point deadline);
  void release(connection_ptr c);
  boost::asio::awaitable<boost::system::error_code> load_scripts(redis_connection& c,
                                                                 time_point deadline);
  // One EVALSHA command; on NOSCRIPT loads the scripts and retries once. Retries once on a
  // fresh connection when a reused idle one turns out to be dead (Redis restarted).
  boost::asio::awaitable<std::tuple<boost::system::error_code, redis_reply>> eval(
      std::span<const std::string_view> args);
  boost::system::error_code count(boost::system::error_code ec);

  boost::asio::any_io_executor ex_;
  redis_store_options options_;
  std::string admit_sha_;
  std::string reconcile_sha_;
  std::vector<connection_ptr> idle_;
  std::size_t open_ = 0;  // idle + lent out + connecting
  std::deque<waiter*> waiters_;
  time_point down_until_{};
  redis_store_stats stats_;
};

}  // namespace modelgate::quota
