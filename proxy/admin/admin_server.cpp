#include "proxy/admin/admin_server.hpp"

#include "metrics/exposition.hpp"
#include "proxy/admin/cache_admin.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace modelgate::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view reload_path = "/admin/reload";

// 200 {"status":"ok","generation":N,"warnings":[...]}, or {"status":"error","error":"..."} with
// 400 (the file was rejected) or 409 (an earlier reload still waits for managed replicas).
void write_reload_outcome(const reload_outcome& o, http::response<http::string_body>& res) {
  boost::json::object body;
  body["status"] = o.ok ? "ok" : "error";
  body["generation"] = o.generation;
  if (!o.ok) body["error"] = o.error;
  boost::json::array warnings;
  for (const auto& w : o.warnings) warnings.emplace_back(w);
  body["warnings"] = std::move(warnings);
  res.result(o.ok ? http::status::ok : o.busy ? http::status::conflict : http::status::bad_request);
  res.set(http::field::content_type, "application/json");
  res.body() = boost::json::serialize(body) + "\n";
}

}  // namespace

admin_server::admin_server(asio::io_context& io, const config::host_port& a, admin_hooks hooks)
    : io_(io), hooks_(std::move(hooks)), acceptor_(io) {
  tcp::endpoint ep(asio::ip::make_address(a.host), a.port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(ep);
  acceptor_.listen();
}

unsigned short admin_server::port() const { return acceptor_.local_endpoint().port(); }

void admin_server::start() { asio::co_spawn(io_, accept_loop(), log_escaped("admin")); }

void admin_server::stop() {
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  });
}

asio::awaitable<void> admin_server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(tok);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) continue;
    asio::co_spawn(io_, serve(std::move(socket)), log_escaped("admin"));
  }
}

asio::awaitable<void> admin_server::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(std::chrono::seconds(30));
    http::request_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, tok);
    if (ec) co_return;
    const auto& req = parser.get();
    http::response<http::string_body> res{http::status::ok, 11};
    res.set(http::field::server, "modelgate");
    auto path = req.target().substr(0, req.target().find('?'));
    auto state = hooks_.current();
    if (path == cache_purge_path) {
      handle_cache_purge(*state, req, res);
    } else if (path == reload_path) {
      if (req.method() != http::verb::post) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "POST");
        res.body() = "use POST\n";
      } else {
        // The reload runs where signals run it (the control thread), one at a time.
        auto op = asio::co_spawn(hooks_.control, hooks_.reload(), asio::use_awaitable);
        auto outcome = co_await std::move(op);
        write_reload_outcome(outcome, res);
      }
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res.result(http::status::method_not_allowed);
      res.body() = "method not allowed\n";
    } else if (path == "/metrics") {
      res.set(http::field::content_type, metrics::content_type);
      state->refresh_metrics();
      res.body() = metrics::serialize(state->metrics.registry());
    } else if (path == "/healthz") {
      res.body() = "ok\n";
    } else if (path == "/readyz") {
      bool ready = !state->draining.load();
      res.result(ready ? http::status::ok : http::status::service_unavailable);
      res.body() = ready ? "ready\n" : "draining\n";
    } else {
      res.result(http::status::not_found);
      res.body() = "not found\n";
    }
    if (res.count(http::field::content_type) == 0) res.set(http::field::content_type, "text/plain");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, res, tok);
    if (wec || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace modelgate::proxy
