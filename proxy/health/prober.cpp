#include "proxy/health/prober.hpp"

#include "proxy/health/load_report.hpp"
#include "proxy/http/upstream_pool.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

#include <random>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_probe_body = 4 * 1024 * 1024;

}  // namespace

asio::awaitable<probe_result> probe_get(const config::backend& backend, const slot_info& target,
                                        ssl::context* tls, const std::string& path,
                                        std::chrono::milliseconds timeout) {
  auto ex = co_await asio::this_coro::executor;
  any_stream stream(ex);
  watchdog deadline(ex, [&stream] {
    boost::system::error_code ignored;
    stream.socket().cancel(ignored);
  });
  deadline.expires_after(timeout);
  probe_result r;
  r.ec = co_await connect_upstream(stream, backend, tls, target.ip, target.port);
  if (!r.ec) {
    http::request<http::empty_body> req{http::verb::get, path, 11};
    req.set(http::field::host, backend.address.str());
    req.set(http::field::user_agent, "modelgate-probe");
    req.keep_alive(false);
    std::tie(r.ec, std::ignore) = co_await http::async_write(stream, req, tok);
  }
  if (!r.ec) {
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_probe_body);
    std::tie(r.ec, std::ignore) = co_await http::async_read(stream, buffer, parser, tok);
    if (!r.ec) {
      r.status = parser.get().result_int();
      r.body = std::move(parser.get().body());
    }
  }
  if (deadline.expired()) r.ec = asio::error::timed_out;
  deadline.disarm();
  boost::system::error_code ignored;
  stream.socket().close(ignored);
  co_return r;
}

prober::prober(asio::io_context& io, std::shared_ptr<runtime_state> state) : io_(io), state_(std::move(state)) {}

prober::~prober() { *stopped_ = true; }

void prober::start() {
  for (std::size_t p = 0; p < state_->cfg.pools.size(); ++p) {
    const auto& pool = state_->cfg.pools[p];
    for (std::size_t b = 0; b < pool.backends.size(); ++b) {
      if (pool.health) asio::co_spawn(io_, check_loop(p, b), log_escaped("probe loop failed"));
      if (pool.report.scrape) asio::co_spawn(io_, scrape_loop(p, b), log_escaped("probe loop failed"));
    }
  }
}

void prober::stop() { *stopped_ = true; }

asio::awaitable<void> prober::check_loop(std::size_t p, std::size_t b) {
  auto stopped = stopped_;
  auto state = state_;  // the generation's config stays valid as long as this loop runs
  const auto& pool = state->cfg.pools[p];
  const auto& cfg = *pool.health;
  const auto& backend = pool.backends[b];
  auto& live = state->pool(p).at(b);
  probe_state st;
  asio::steady_timer timer(io_);
  // Spread the first probes so a large pool does not probe in one burst.
  std::minstd_rand jitter(static_cast<unsigned>(p * 7919 + b));
  timer.expires_after(std::chrono::milliseconds(jitter() % std::max<std::int64_t>(1, cfg.interval.count() / 4)));
  co_await timer.async_wait(tok);
  slot_info target;
  std::uint32_t probed_generation = 0;
  while (!*stopped) {
    // An empty DNS slot has nothing to probe; a slot with a new address is a new host.
    if (!slot_target(state->pool(p), b, target)) {
      const auto generation = target.generation;
      if (generation != probed_generation) st = probe_state{};
      probed_generation = generation;
      auto r = co_await probe_get(backend, target, state->backend_tls[p][b].get(), cfg.path, cfg.timeout);
      if (*stopped) co_return;
      const bool ok = !r.ec && r.status == cfg.expect_status;
      // A verdict about an address the slot no longer has is dropped.
      if (live.address_generation.load(std::memory_order_relaxed) == generation && st.record(ok, cfg)) {
        live.probe_healthy.store(st.healthy, std::memory_order_relaxed);
        if (st.healthy)
          spdlog::info("pool {}: backend {} is healthy again", pool.name, backend.label());
        else
          spdlog::warn("pool {}: backend {} is unhealthy ({})", pool.name, backend.label(),
                       r.ec ? r.ec.message() : "status " + std::to_string(r.status));
      }
    }
    timer.expires_after(cfg.interval);
    co_await timer.async_wait(tok);
  }
}

asio::awaitable<void> prober::scrape_loop(std::size_t p, std::size_t b) {
  auto stopped = stopped_;
  auto state = state_;  // the generation's config stays valid as long as this loop runs
  const auto& pool = state->cfg.pools[p];
  const auto& cfg = *pool.report.scrape;
  const auto& backend = pool.backends[b];
  auto& live = state->pool(p);
  asio::steady_timer timer(io_);
  slot_info target;
  while (!*stopped) {
    if (!slot_target(live, b, target)) {
      auto r = co_await probe_get(backend, target, state->backend_tls[p][b].get(), cfg.path,
                            std::max(cfg.interval, std::chrono::milliseconds(200)));
      if (*stopped) co_return;
      if (!r.ec && r.status == 200) {
        if (auto v = prometheus_sum(r.body, cfg.metric); v && *v >= 0)
          live.report_queue(b, *v, std::chrono::steady_clock::now());
      }
    }
    timer.expires_after(cfg.interval);
    co_await timer.async_wait(tok);
  }
}

}  // namespace modelgate::proxy
