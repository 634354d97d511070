#include "tests/bench/routing/open_loop.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <iostream>
#include <memory>

namespace modelgate::bench {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);

struct connection {
  explicit connection(asio::io_context& io) : stream(io) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
};

class generator {
 public:
  generator(const std::vector<planned_request>& plan, const load_options& opts)
      : plan_(plan), opts_(opts), out_(plan.size()) {}

  std::vector<request_outcome> run() {
    start_ = clock::now();
    asio::co_spawn(io_, drive(), [](std::exception_ptr e) {
      if (e) std::cerr << "open_loop: the driver failed\n";
    });
    io_.run();
    return std::move(out_);
  }

 private:
  asio::awaitable<void> drive() {
    asio::steady_timer timer(io_);
    for (std::size_t i = 0; i < plan_.size(); ++i) {
      timer.expires_at(start_ + plan_[i].at);
      co_await timer.async_wait(tok);
      asio::co_spawn(io_, send(i), [](std::exception_ptr e) {
        if (e) std::cerr << "open_loop: a request failed with an exception\n";
      });
    }
  }

  // An idle connection, or a new one; nullptr when it cannot connect or the cap is reached.
  asio::awaitable<std::unique_ptr<connection>> take() {
    if (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      co_return c;
    }
    if (open_ >= opts_.max_connections) co_return nullptr;
    auto c = std::make_unique<connection>(io_);
    c->stream.expires_after(opts_.timeout);
    auto [ec] = co_await c->stream.async_connect(
        tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), opts_.port), tok);
    if (ec) co_return nullptr;
    c->stream.socket().set_option(tcp::no_delay(true));
    ++open_;
    co_return c;
  }

  asio::awaitable<void> send(std::size_t i) {
    const auto& p = plan_[i];
    auto& o = out_[i];
    auto finish = [&](unsigned status) {
      auto now = clock::now();
      o.status = status;
      o.done = std::chrono::duration_cast<std::chrono::microseconds>(now - start_);
      o.latency = std::chrono::duration_cast<std::chrono::microseconds>(now - (start_ + p.at));
    };
    auto c = co_await take();
    if (!c) co_return finish(0);
    http::request<http::empty_body> req{http::verb::get, opts_.target, 11};
    req.set(http::field::host, "bench");
    req.set("x-cost-ms", std::to_string(p.cost_ms));
    if (!p.key.empty()) req.set("x-session-id", p.key);
    req.keep_alive(true);
    // The deadline counts from the planned time, like the latency.
    c->stream.expires_at(start_ + p.at + opts_.timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, req, tok);
    http::response<http::string_body> res;
    boost::system::error_code rec = wec;
    if (!rec) std::tie(rec, std::ignore) = co_await http::async_read(c->stream, c->buffer, res, tok);
    if (rec) {
      --open_;
      co_return finish(0);
    }
    o.backend = res.body();
    finish(res.result_int());
    if (res.keep_alive()) idle_.push_back(std::move(c));
    else --open_;
  }

  asio::io_context io_{1};
  const std::vector<planned_request>& plan_;
  load_options opts_;
  std::vector<request_outcome> out_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::size_t open_ = 0;
  clock::time_point start_;
};

}  // namespace

std::vector<request_outcome> run_open_loop(const std::vector<planned_request>& plan,
                                           const load_options& opts) {
  generator g(plan, opts);
  return g.run();
}

}  // namespace modelgate::bench
