#include "proxy/quota/redis_store.hpp"

#include "proxy/quota/redis_scripts.hpp"
#include "proxy/quota/store_error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace modelgate::quota {

namespace asio = boost::asio;
using boost::system::error_code;

struct redis_store::waiter {
  explicit waiter(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  connection_ptr conn;  // handed over by release()
  bool woken = false;   // a slot was freed (with or without a connection)
};

redis_store::redis_store(asio::any_io_executor ex, redis_store_options options)
    : ex_(std::move(ex)),
      options_(std::move(options)),
      admit_sha_(redis_scripts::sha1_hex(redis_scripts::admit_lua)),
      reconcile_sha_(redis_scripts::sha1_hex(redis_scripts::reconcile_lua)) {
  options_.pool_size = std::max<std::size_t>(1, options_.pool_size);
}

redis_store::~redis_store() { close(); }

void redis_store::close() {
  open_ -= idle_.size();
  idle_.clear();
}

error_code redis_store::count(error_code ec) {
  if (ec) {
    stats_.errors.fetch_add(1, std::memory_order_relaxed);
    if (ec == store_errc::timeout) stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
  }
  return ec;
}

asio::awaitable<std::tuple<error_code, redis_store::connection_ptr, bool>> redis_store::acquire(
    time_point deadline) {
  const auto token = asio::as_tuple(asio::use_awaitable);
  for (;;) {
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->is_open()) co_return std::tuple{error_code{}, std::move(c), true};
      --open_;
    }
    if (open_ < options_.pool_size) {
      if (std::chrono::steady_clock::now() < down_until_) {
        co_return std::tuple{make_error_code(store_errc::backing_off), connection_ptr{}, false};
      }
      ++open_;
      auto c = std::make_unique<redis_connection>(ex_);
      auto ec = co_await c->connect(options_.host, options_.port, deadline);
      if (!ec) ec = co_await load_scripts(*c, deadline);
      if (ec) {
        // Fail fast for a while instead of paying a connect per request while Redis is down.
        down_until_ = std::chrono::steady_clock::now() + options_.reconnect_backoff;
        c->close();
        release(std::move(c));
        co_return std::tuple{ec, connection_ptr{}, false};
      }
      stats_.connects.fetch_add(1, std::memory_order_relaxed);
      co_return std::tuple{error_code{}, std::move(c), false};
    }
    // Every connection is busy: wait for release() to hand one over, or for the deadline.
    waiter w(ex_);
    w.timer.expires_at(deadline);
    waiters_.push_back(&w);
    struct unlink {
      std::deque<waiter*>& q;
      waiter* w;
      ~unlink() { q.erase(std::remove(q.begin(), q.end(), w), q.end()); }
    } guard{waiters_, &w};
    co_await w.timer.async_wait(token);
    if (w.conn) co_return std::tuple{error_code{}, std::move(w.conn), true};
    if (!w.woken) co_return std::tuple{make_error_code(store_errc::timeout), connection_ptr{}, false};
  }
}

void redis_store::release(connection_ptr c) {
  if (c && !c->is_open()) {
    --open_;
    c.reset();
  }
  if (!waiters_.empty()) {
    auto* w = waiters_.front();
    waiters_.pop_front();
    w->conn = std::move(c);
    w->woken = true;
    w->timer.cancel();
    return;
  }
  if (c) idle_.push_back(std::move(c));
}

asio::awaitable<error_code> redis_store::load_scripts(redis_connection& c, time_point deadline) {
  const std::pair<std::string_view, const std::string*> scripts[] = {
      {redis_scripts::admit_lua, &admit_sha_}, {redis_scripts::reconcile_lua, &reconcile_sha_}};
  for (const auto& [script, sha] : scripts) {
    const std::string_view args[] = {"SCRIPT", "LOAD", script};
    auto [ec, reply] = co_await c.call(args, deadline);
    if (ec) co_return ec;
    stats_.script_loads.fetch_add(1, std::memory_order_relaxed);
    if (reply.type != redis_reply::kind::string || reply.str != *sha) {
      c.close();
      co_return make_error_code(reply.is_error() ? store_errc::script : store_errc::protocol);
    }
  }
  co_return error_code{};
}

asio::awaitable<std::tuple<error_code, redis_reply>> redis_store::eval(
    std::span<const std::string_view> args) {
  stats_.calls.fetch_add(1, std::memory_order_relaxed);
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  for (int attempt = 0;; ++attempt) {
    auto [ec, c, reused] = co_await acquire(deadline);
    if (ec) co_return std::tuple{count(ec), redis_reply{}};
    auto [cec, reply] = co_await c->call(args, deadline);
    if (!cec && reply.is_error("NOSCRIPT")) {
      // The server lost its scripts (SCRIPT FLUSH, restart without persistence): load, retry.
      stats_.noscript.fetch_add(1, std::memory_order_relaxed);
      cec = co_await load_scripts(*c, deadline);
      if (!cec) std::tie(cec, reply) = co_await c->call(args, deadline);
    }
    release(std::move(c));
    if (cec == store_errc::disconnected && reused && attempt == 0) continue;  // stale idle conn
    if (cec) co_return std::tuple{count(cec), redis_reply{}};
    if (reply.is_error()) co_return std::tuple{count(store_errc::script), std::move(reply)};
    co_return std::tuple{error_code{}, std::move(reply)};
  }
}

asio::awaitable<error_code> redis_store::start() {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  auto [ec, c, reused] = co_await acquire(deadline);
  if (c) release(std::move(c));
  co_return count(ec);
}

asio::awaitable<std::tuple<error_code, decision>> redis_store::admit(std::string_view key_id,
                                                                     const quota_limits& limits,
                                                                     std::uint64_t token_estimate) {
  const quota_limits q = limits;  // copies taken before the first suspension
  if (!q.limits_requests() && !q.limits_tokens()) co_return std::tuple{error_code{}, decision{}};
  const auto keys = redis_scripts::keys_for(options_.key_prefix, key_id);
  const auto argv = redis_scripts::admit_args(q, token_estimate);
  const std::string_view args[] = {"EVALSHA", admit_sha_, "2",     keys[0], keys[1],
                                   argv[0],   argv[1],    argv[2], argv[3], argv[4]};
  auto [ec, reply] = co_await eval(args);
  if (ec) co_return std::tuple{ec, decision{}};
  auto d = redis_scripts::parse_admit(reply, q);
  if (!d) co_return std::tuple{count(store_errc::protocol), decision{}};
  co_return std::tuple{error_code{}, std::move(*d)};
}

asio::awaitable<std::tuple<error_code, std::optional<limit_status>>> redis_store::reconcile(
    std::string_view key_id, const quota_limits& limits, std::uint64_t reserved,
    std::uint64_t actual) {
  const quota_limits q = limits;
  const auto argv = redis_scripts::reconcile_args(q, reserved, actual);
  if (!argv) co_return std::tuple{error_code{}, std::optional<limit_status>{}};
  const auto keys = redis_scripts::keys_for(options_.key_prefix, key_id);
  const std::string_view args[] = {"EVALSHA", reconcile_sha_, "1",
                                   keys[1],   (*argv)[0],     (*argv)[1], (*argv)[2]};
  auto [ec, reply] = co_await eval(args);
  if (ec) co_return std::tuple{ec, std::optional<limit_status>{}};
  auto s = redis_scripts::parse_reconcile(reply, q);
  if (!s) co_return std::tuple{count(store_errc::protocol), std::optional<limit_status>{}};
  co_return std::tuple{error_code{}, s};
}

}  // namespace modelgate::quota
