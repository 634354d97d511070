#include "proxy/admin/admin_server.hpp"

#include "metrics/exposition.hpp"
#include "proxy/admin/admin_guard.hpp"
#include "proxy/admin/cache_admin.hpp"
#include "proxy/observe/log_escaped.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <array>

namespace modelgate::proxy {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view reload_path = "/admin/reload";

// Bounds of one request (issue 14). The read buffer holds at most the header or one chunk-size
// line at a time (the body parser consumes the rest as it arrives), so a huge chunk extension or
// header line fails the read with buffer_overflow instead of growing the buffer.
constexpr std::size_t max_header_bytes = 8 * 1024;
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr std::size_t max_buffer_bytes = 16 * 1024;
// After refusing a request that broke a limit: what is still read and dropped before closing,
// so the close does not reset the connection under the client before it read the answer.
constexpr std::size_t max_drain_bytes = 1024 * 1024;
constexpr auto drain_time = std::chrono::seconds(1);

std::string_view sv(beast::string_view s) { return {s.data(), s.size()}; }

// Set on every answer: nothing here is a document for a browser to sniff or a cache to keep.
void add_admin_headers(http::response<http::string_body>& res) {
  res.set(http::field::server, "modelgate");
  res.set("x-content-type-options", "nosniff");
  res.set(http::field::cache_control, "no-store");
}

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

asio::awaitable<void> drain(beast::tcp_stream& stream) {
  stream.expires_after(drain_time);
  std::array<char, 4096> sink;
  for (std::size_t total = 0; total < max_drain_bytes;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), tok);
    if (ec) break;
    total += n;
  }
}

}  // namespace

admin_server::admin_server(asio::io_context& io, const config::host_port& a, admin_hooks hooks)
    : io_(io), hooks_(std::move(hooks)), acceptor_(io), host_(a.host) {
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
  buffer.max_size(max_buffer_bytes);
  bool refused_read = false;
  for (;;) {
    stream.expires_after(std::chrono::seconds(30));
    http::request_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_body_bytes);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, tok);
    if (ec) {
      // Over a limit or malformed: say so, then close (the rest of the stream is unframed).
      if (auto status = status_for_read_error(ec)) {
        http::response<http::string_body> res{static_cast<http::status>(*status), 11};
        add_admin_headers(res);
        res.set(http::field::content_type, "text/plain");
        res.body() = std::string(http::obsolete_reason(res.result())) + "\n";
        res.keep_alive(false);
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, tok);
        refused_read = !wec;
      }
      break;
    }
    const auto& req = parser.get();
    http::response<http::string_body> res{http::status::ok, 11};
    add_admin_headers(res);
    auto path = req.target().substr(0, req.target().find('?'));
    auto state = hooks_.current();
    admin_request_view view;
    view.method = req.method();
    view.version = req.version();
    if (auto h = req.find(http::field::host); h != req.end()) view.host = sv(h->value());
    view.has_origin = req.count(http::field::origin) != 0;
    if (auto t = req.find(http::field::content_type); t != req.end())
      view.content_type = sv(t->value());
    if (auto no = check_admin_request(view, host_)) {
      res.result(static_cast<http::status>(no->status));
      res.body() = std::string(no->message);
    } else if (path == cache_purge_path) {
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
  if (refused_read) co_await drain(stream);
}

}  // namespace modelgate::proxy
