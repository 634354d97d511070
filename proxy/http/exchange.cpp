#include "proxy/http/exchange.hpp"

#include "proxy/http/header_rewrite.hpp"
#include "proxy/http/worker.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <bitset>
#include <optional>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;
using response_parser = http::response_parser<http::buffer_body>;
constexpr std::uint32_t max_upstream_header_bytes = 64 * 1024;

double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

// The client went away or closed its side: nothing to answer.
bool client_gone(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::error::operation_aborted || ec == asio::ssl::error::stream_truncated;
}

class exchange_op {
 public:
  exchange_op(worker& w, downstream& d) : w_(w), d_(d), st_(w.state()) {}

  asio::awaitable<bool> run() {
    bool keep = co_await read_and_forward();
    record();
    co_return keep;
  }

 private:
  asio::awaitable<bool> read_and_forward() {
    const auto& lim = st_.cfg.limit;
    parser_.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header_bytes, UINT32_MAX)));
    parser_.body_limit(lim.max_body_bytes);

    d_.deadline.expires_after(lim.header_timeout);
    auto [ec, n] = co_await http::async_read_header(d_.stream, d_.buffer, parser_, tok);
    bytes_in_ += n;
    if (ec) {
      if (d_.deadline.expired()) co_return co_await fail(proxy_errc::header_timeout, false);
      if (client_gone(ec)) co_return false;
      if (ec == http::error::header_limit) co_return co_await fail(proxy_errc::header_too_large, false);
      // Beast checks a declared Content-Length against the body limit while parsing the header.
      if (ec == http::error::body_limit) co_return co_await fail(proxy_errc::body_too_large, false);
      if (ec == http::error::bad_content_length || ec == http::error::bad_transfer_encoding)
        co_return co_await fail(proxy_errc::ambiguous_framing, false);
      co_return co_await fail(proxy_errc::bad_request, false);
    }
    d_.deadline.disarm();
    auto& req = parser_.get();
    if (auto id = req["x-request-id"]; acceptable_request_id(id)) request_id_ = id;
    else request_id_ = w_.next_request_id();
    if (auto e = check_request_framing(req)) co_return co_await fail(*e, false);
    if (auto cl = parser_.content_length(); cl && *cl > lim.max_body_bytes)
      co_return co_await fail(proxy_errc::body_too_large, false);

    if (!parser_.is_done()) {
      if (boost::beast::iequals(req[http::field::expect], "100-continue")) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] = co_await asio::async_write(d_.stream, asio::buffer(cont), tok);
        if (cec) co_return false;
      }
      d_.deadline.expires_after(lim.request_timeout);
      auto [bec, bn] = co_await http::async_read(d_.stream, d_.buffer, parser_, tok);
      bytes_in_ += bn;
      if (bec) {
        if (d_.deadline.expired()) co_return co_await fail(proxy_errc::body_timeout, false);
        if (bec == http::error::body_limit) co_return co_await fail(proxy_errc::body_too_large, false);
        if (client_gone(bec)) co_return false;
        co_return co_await fail(proxy_errc::bad_request, false);
      }
      d_.deadline.disarm();
    }

    route_ = st_.routes.match(req.target());
    if (!route_) co_return co_await fail(proxy_errc::no_route, req.keep_alive());
    co_return co_await forward();
  }

  asio::awaitable<bool> forward() {
    auto& req = parser_.get();
    const auto& route = st_.cfg.routes[*route_];
    const auto pool_index = route.pool_index;
    auto& pool = w_.pool(pool_index);
    const auto& pcfg = pool.settings();
    const auto& pm = st_.metrics.pool(pool_index);
    const bool client_keep_alive = req.keep_alive();
    const unsigned client_version = req.version();
    const bool head = req.method() == http::verb::head;
    const auto deadline = start_ + st_.cfg.limit.request_timeout;

    prepare_upstream_request(req, forward_context{d_.client_ip, d_.tls, request_id_});
    req.version(11);
    req.prepare_payload();

    // Connect failures move on to another backend; a reused keep-alive connection that fails
    // before any response byte is retried once on a fresh connection (the backend closed it).
    std::bitset<config::max_backends_per_pool> tried;
    std::optional<std::size_t> backend;
    bool allow_reuse = true;
    proxy_errc last = proxy_errc::upstream_connect_failed;
    for (unsigned attempt = 0;; ++attempt) {
      if (!backend) backend = w_.balancer(pool_index).pick([&](std::size_t i) { return !tried[i]; });
      if (!backend) break;
      if (attempt > 0) pm.retries->Increment();
      auto [cec, lease] = co_await pool.acquire(*backend, allow_reuse);
      if (cec) {
        tried[*backend] = true;
        last = cec == proxy_errc::upstream_connect_timeout ? proxy_errc::upstream_connect_timeout
                                                            : proxy_errc::upstream_connect_failed;
        backend.reset();
        allow_reuse = true;
        continue;
      }
      upstream_ = pcfg.backends[*backend].address.str();
      auto& up = *lease;
      const auto sent_at = clock::now();
      up.deadline.expires_at(std::min(deadline, sent_at + pcfg.response_timeout));
      auto [wec, wn] = co_await http::async_write(up.stream, req, tok);
      std::optional<response_parser> rp;
      boost::system::error_code rec = wec;
      // Interim 1xx responses (other than 101) are dropped: the client gets the final one.
      while (!rec && (!rp || (rp->get().result_int() / 100 == 1 && rp->get().result_int() != 101))) {
        rp.emplace();
        rp->header_limit(max_upstream_header_bytes);
        rp->body_limit(boost::none);
        if (head) rp->skip(true);
        std::tie(rec, std::ignore) = co_await http::async_read_header(up.stream, up.buffer, *rp, tok);
      }
      const bool timed_out = up.deadline.expired();
      up.deadline.disarm();
      if (rec) {
        if (timed_out) {
          last = clock::now() >= deadline ? proxy_errc::request_timeout : proxy_errc::upstream_timeout;
          break;
        }
        const bool nothing_back = !rp || !rp->got_some();
        if (up.reused && nothing_back) {
          allow_reuse = false;
          continue;
        }
        last = nothing_back ? proxy_errc::upstream_reset : proxy_errc::upstream_protocol_error;
        break;
      }
      ttfb_ = seconds_since(sent_at);
      pm.ttfb->Observe(ttfb_);
      co_return co_await relay(lease, *rp, client_keep_alive, client_version, deadline);
    }
    co_return co_await fail(last, client_keep_alive);
  }

  asio::awaitable<bool> relay(upstream_lease& lease, response_parser& rp, bool client_keep_alive,
                              unsigned client_version, clock::time_point deadline) {
    auto& res = rp.get();
    status_ = res.result_int();
    bool upstream_keep = res.keep_alive();
    const bool chunked = res.chunked();
    // No length and not chunked: the body ends when the upstream closes.
    const bool until_eof = !chunked && !res.has_content_length() && !rp.is_done();
    strip_hop_by_hop(res, chunked);
    bool keep = client_keep_alive && !st_.draining.load(std::memory_order_relaxed);
    if (until_eof) {
      upstream_keep = false;
      if (client_version >= 11) res.chunked(true);
      else keep = false;
    }
    res.set("x-request-id", request_id_);
    res.version(client_version >= 11 ? 11 : 10);
    res.keep_alive(keep);

    http::response_serializer<http::buffer_body> sr{res};
    d_.deadline.expires_at(deadline);
    auto [hec, hn] = co_await http::async_write_header(d_.stream, sr, tok);
    if (hec) co_return client_aborted();

    auto& up = *lease;
    auto& body = res.body();
    do {
      if (!rp.is_done()) {
        body.data = up.relay_buffer.data();
        body.size = up.relay_buffer.size();
        up.deadline.expires_at(deadline);
        auto [rec, rn] = co_await http::async_read_some(up.stream, up.buffer, rp, tok);
        up.deadline.disarm();
        if (rec == http::error::need_buffer) rec = {};
        if (rec) {
          // Closing without the final chunk tells the client the response is incomplete.
          st_.metrics.upstream_aborts.Increment();
          error_ = "upstream_aborted";
          co_return false;
        }
        body.size = up.relay_buffer.size() - body.size;
        body.data = up.relay_buffer.data();
        body.more = !rp.is_done();
        // A read may parse only a chunk header; an empty piece would end the chunked output.
        if (body.size == 0 && body.more) continue;
      } else {
        body.data = nullptr;
        body.size = 0;
        body.more = false;
      }
      // An empty last piece with data set would come out as an extra "0\r\n\r\n" chunk.
      if (body.size == 0) body.data = nullptr;
      bytes_out_ += body.size;
      auto [wec, wn] = co_await http::async_write(d_.stream, sr, tok);
      if (wec == http::error::need_buffer) wec = {};
      if (wec) co_return client_aborted();
    } while (!rp.is_done() || !sr.is_done());
    d_.deadline.disarm();
    if (upstream_keep) lease.release();
    co_return keep;
  }

  // The lease is dropped unreleased by the caller, which closes the upstream connection and so
  // stops the backend generating for nobody.
  bool client_aborted() {
    st_.metrics.client_aborts.Increment();
    error_ = "client_aborted";
    return false;
  }

  asio::awaitable<bool> fail(proxy_errc e, bool keep_alive) {
    const auto& info = describe(e);
    status_ = static_cast<unsigned>(info.status);
    error_ = info.label;
    st_.metrics.count_error(info.label);
    keep_alive = keep_alive && !st_.draining.load(std::memory_order_relaxed);
    if (request_id_.empty()) request_id_ = w_.next_request_id();
    bool written = co_await d_.send_error(e, request_id_, keep_alive);
    co_return written && keep_alive;
  }

  void record() {
    auto duration = seconds_since(start_);
    const auto& h = route_ ? st_.metrics.route(*route_) : st_.metrics.unrouted();
    h.by_class[std::min<unsigned>(status_ / 100, 5)]->Increment();
    h.duration->Observe(duration);
    st_.metrics.bytes_received.Increment(static_cast<double>(bytes_in_));
    st_.metrics.bytes_sent.Increment(static_cast<double>(bytes_out_));
    if (!st_.log.enabled()) return;
    const auto& req = parser_.get();
    access_record r;
    r.time = wall_start_;
    r.request_id = request_id_;
    r.client_ip = d_.client_ip;
    r.method = {req.method_string().data(), req.method_string().size()};
    r.path = {req.target().data(), req.target().size()};
    r.route = route_ ? std::string_view(st_.cfg.routes[*route_].name) : std::string_view();
    r.upstream = upstream_;
    r.error = error_;
    r.status = status_;
    r.bytes_in = bytes_in_;
    r.bytes_out = bytes_out_;
    r.duration_s = duration;
    r.upstream_ttfb_s = ttfb_;
    st_.log.write(r);
  }

  worker& w_;
  downstream& d_;
  runtime_state& st_;
  const clock::time_point start_ = clock::now();
  const std::chrono::system_clock::time_point wall_start_ = std::chrono::system_clock::now();
  http::request_parser<http::string_body> parser_;
  std::string request_id_;
  std::optional<std::size_t> route_;
  std::string upstream_;
  std::string_view error_;
  unsigned status_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  double ttfb_ = -1;
};

}  // namespace

asio::awaitable<bool> exchange(worker& w, downstream& d) {
  exchange_op op(w, d);
  co_return co_await op.run();
}

}  // namespace modelgate::proxy
