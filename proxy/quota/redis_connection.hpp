#pragma once
// One connection to Redis over an Asio TCP socket: connect, then one command at a time, each
// bounded by a deadline that closes the socket when it passes. Replies are parsed by hiredis's
// reader. Single-threaded: use from the owning executor's thread only.

#include "proxy/quota/redis_reply.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>

namespace modelgate::quota {

class redis_connection {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit redis_connection(boost::asio::any_io_executor ex);
  ~redis_connection();
  redis_connection(const redis_connection&) = delete;
  redis_connection& operator=(const redis_connection&) = delete;

  /// Resolves `host` (an IP address needs no lookup) and connects. store_errc::timeout past
  /// the deadline, store_errc::connect_failed otherwise.
  boost::asio::awaitable<boost::system::error_code> connect(std::string host, std::uint16_t port,
                                                            time_point deadline);

  /// Sends one command and reads its reply. An error reply from Redis is a reply, not an error
  /// code; error codes are store_errc::timeout, disconnected or protocol, after which the
  /// connection is closed.
  boost::asio::awaitable<std::tuple<boost::system::error_code, redis_reply>> call(
      std::span<const std::string_view> args, time_point deadline);

  bool is_open() const noexcept;
  void close() noexcept;

 private:
  // What the deadline handler touches; it holds a reference so it may run after we are gone.
  struct io_state;
  void arm(time_point deadline);
  void disarm() noexcept;

  std::shared_ptr<io_state> io_;
  resp_reader reader_;
  std::string out_;
  std::array<char, 4096> in_{};
};

}  // namespace modelgate::quota
