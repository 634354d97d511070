#include "proxy/http/cache_redis.hpp"

#include <boost/asio/this_coro.hpp>

#include <array>
#include <string_view>

namespace modelgate::proxy {
namespace asio = boost::asio;
namespace {
using clock = std::chrono::steady_clock;
// A connect may take a little longer than a command (TCP handshake, DNS for a name).
constexpr std::chrono::milliseconds min_connect_time{250};
constexpr std::chrono::seconds rest_after_failure{1};
}  // namespace

cache_redis_tier::cache_redis_tier(config::cache_redis cfg, prometheus::Counter* errors)
    : cfg_(std::move(cfg)), errors_(errors) {}

std::string cache_redis_tier::name_of(const cache::cache_key& key) const {
  return cfg_.prefix + ":" + key.hex();
}

void cache_redis_tier::failed() {
  if (errors_) errors_->Increment();
  rest_until_ = clock::now() + rest_after_failure;
}

asio::awaitable<std::unique_ptr<cache_redis_tier::connection>> cache_redis_tier::take() {
  const auto now = clock::now();
  if (now < rest_until_) co_return nullptr;
  while (!idle_.empty()) {
    auto c = std::move(idle_.back());
    idle_.pop_back();
    if (c->is_open()) co_return c;
    --open_;
  }
  if (open_ >= max_connections) co_return nullptr;
  ++open_;
  auto c = std::make_unique<connection>(co_await asio::this_coro::executor);
  if (co_await c->connect(cfg_.host, cfg_.port, now + std::max(cfg_.timeout, min_connect_time))) {
    --open_;
    failed();
    co_return nullptr;
  }
  co_return c;
}

void cache_redis_tier::give_back(std::unique_ptr<connection> c) { idle_.push_back(std::move(c)); }

asio::awaitable<std::optional<std::string>> cache_redis_tier::get(const cache::cache_key& key) {
  auto c = co_await take();
  if (!c) co_return std::nullopt;
  const auto name = name_of(key);
  const std::array<std::string_view, 2> args{"GET", name};
  auto [ec, reply] = co_await c->call(args, clock::now() + cfg_.timeout);
  if (ec) {
    --open_;  // the connection is closed; it dies here
    failed();
    co_return std::nullopt;
  }
  give_back(std::move(c));
  if (reply.is_error()) failed();
  if (reply.type != quota::redis_reply::kind::string) co_return std::nullopt;
  co_return std::move(reply.str);
}

asio::awaitable<void> cache_redis_tier::set(cache::cache_key key, std::string value,
                                            std::chrono::milliseconds ttl) {
  auto c = co_await take();
  if (!c) co_return;
  const auto name = name_of(key);
  const auto px = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  const std::array<std::string_view, 5> args{"SET", name, value, "PX", px};
  auto [ec, reply] = co_await c->call(args, clock::now() + cfg_.timeout);
  if (ec) {
    --open_;
    failed();
    co_return;
  }
  give_back(std::move(c));
  if (reply.is_error()) failed();
}

}  // namespace modelgate::proxy
