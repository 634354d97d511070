#include "proxy/quota/redis_connection.hpp"

#include "proxy/quota/store_error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace modelgate::quota {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;

struct redis_connection::io_state {
  explicit io_state(asio::any_io_executor ex) : socket(ex), resolver(ex), timer(ex) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  std::uint64_t generation = 0;  // which arm() the pending timer wait belongs to
  bool armed = false;
  bool expired = false;
};

redis_connection::redis_connection(asio::any_io_executor ex)
    : io_(std::make_shared<io_state>(std::move(ex))) {}

redis_connection::~redis_connection() { close(); }

bool redis_connection::is_open() const noexcept { return io_->socket.is_open(); }

void redis_connection::close() noexcept {
  disarm();
  error_code ignored;
  io_->resolver.cancel();
  io_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  io_->socket.close(ignored);
}

void redis_connection::arm(time_point deadline) {
  auto& s = *io_;
  s.expired = false;
  s.armed = true;
  const auto gen = ++s.generation;
  s.timer.expires_at(deadline);
  // Closing the socket (and cancelling a lookup) makes the pending operation complete at once.
  s.timer.async_wait([io = io_, gen](const error_code& ec) {
    if (ec || !io->armed || io->generation != gen) return;
    io->expired = true;
    error_code ignored;
    io->resolver.cancel();
    io->socket.close(ignored);
  });
}

void redis_connection::disarm() noexcept {
  io_->armed = false;
  io_->timer.cancel();
}

asio::awaitable<error_code> redis_connection::connect(std::string host, std::uint16_t port,
                                                      time_point deadline) {
  const auto token = asio::as_tuple(asio::use_awaitable);
  reader_.reset();
  out_.clear();
  arm(deadline);
  error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (!ec) {
    std::tie(ec) = co_await io_->socket.async_connect(tcp::endpoint(addr, port), token);
  } else {
    auto [rec, results] = co_await io_->resolver.async_resolve(host, std::to_string(port), token);
    ec = rec;
    if (!ec) std::tie(ec, std::ignore) = co_await asio::async_connect(io_->socket, results, token);
  }
  const bool expired = io_->expired;
  disarm();
  if (!ec && !expired) {
    io_->socket.set_option(tcp::no_delay(true), ec);
    co_return error_code{};
  }
  close();
  co_return expired ? make_error_code(store_errc::timeout) : make_error_code(store_errc::connect_failed);
}

asio::awaitable<std::tuple<error_code, redis_reply>> redis_connection::call(
    std::span<const std::string_view> args, time_point deadline) {
  const auto token = asio::as_tuple(asio::use_awaitable);
  auto fail = [this](store_errc e) {
    const bool expired = io_->expired;
    close();
    return std::tuple{make_error_code(expired ? store_errc::timeout : e), redis_reply{}};
  };
  if (!is_open()) co_return std::tuple{make_error_code(store_errc::disconnected), redis_reply{}};
  out_.clear();
  encode_command(args, out_);
  arm(deadline);
  auto [wec, written] = co_await asio::async_write(io_->socket, asio::buffer(out_), token);
  if (wec) co_return fail(store_errc::disconnected);
  for (;;) {
    bool failed = false;
    if (auto reply = reader_.next(failed)) {
      disarm();
      co_return std::tuple{error_code{}, std::move(*reply)};
    }
    if (failed) co_return fail(store_errc::protocol);
    auto [rec, n] = co_await io_->socket.async_read_some(asio::buffer(in_), token);
    if (rec) co_return fail(store_errc::disconnected);
    if (!reader_.feed(std::string_view(in_.data(), n))) co_return fail(store_errc::protocol);
  }
}

}  // namespace modelgate::quota
