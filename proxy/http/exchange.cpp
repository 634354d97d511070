#include "proxy/http/exchange.hpp"

#include "proxy/http/address_bytes.hpp"
#include "proxy/http/admission.hpp"
#include "proxy/http/cache_stage.hpp"
#include "proxy/http/header_rewrite.hpp"
#include "proxy/http/relay.hpp"
#include "proxy/http/request_head.hpp"
#include "proxy/health/retry.hpp"
#include "proxy/http/upstream_steps.hpp"
#include "proxy/http/worker.hpp"
#include "proxy/routing/hash.hpp"
#include "proxy/routing/request_keys.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <bitset>
#include <optional>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;
constexpr std::uint32_t max_upstream_header_bytes = 64 * 1024;
// Read buffers hold at most a header section plus this: a pipelined request's start, a chunk-size
// line with its extensions, or trailers.
constexpr std::size_t read_buffer_margin = 8 * 1024;

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
  exchange_op(worker& w, downstream& d) : w_(w), d_(d), view_(w.view()), st_(*view_->state) {}

  asio::awaitable<bool> run() {
    bool keep = co_await read_and_forward();
    co_await admission_.finish();
    record();
    co_return keep;
  }

 private:
  asio::awaitable<bool> read_and_forward() {
    const auto& lim = st_.cfg.limit;
    parser_.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(lim.max_header_bytes, UINT32_MAX)));
    parser_.body_limit(lim.max_body_bytes);
    // Past the header section only a chunk-size line or the trailers wait in the read buffer (a
    // body goes straight into the parser's string): bounding the buffer bounds chunk extensions
    // and trailers, which Beast otherwise buffers until their line ends (300 MiB of extension
    // bytes took 537 MB).
    d_.buffer.max_size(lim.max_header_bytes + read_buffer_margin);

    d_.deadline.expires_after(lim.header_timeout);
    auto [ec, n] = co_await http::async_read_header(d_.stream, d_.buffer, parser_, tok);
    bytes_in_ += n;
    if (ec) {
      if (d_.deadline.expired()) co_return co_await fail(proxy_errc::header_timeout, false);
      // wait_for_data saw bytes of this request: leaving now is an abort, not a quiet close.
      if (client_gone(ec)) co_return client_aborted();
      if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
        co_return co_await fail(proxy_errc::header_too_large, false);
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
    if (auto e = check_request_head(parser_, lim.max_body_bytes)) co_return co_await fail(*e, false);
    // Only a chunked body can carry trailers, which the parser files among the header fields.
    std::optional<http::fields> header_section;
    if (req.chunked()) header_section.emplace(req);

    // Route and check the key on the header alone where the routes allow it: a keyless client
    // then costs no body read, no 100 Continue and no JSON parse.
    const bool keep_if_answered_now = keep_after_early_answer(parser_);
    route_input in{req.target(), req[http::field::host], &req, std::nullopt};
    bool may_be_public = false;
    if (!st_.routes.needs_model()) {
      route_ = st_.routes.match(in);
      if (!route_) {
        const bool keep = co_await fail(proxy_errc::no_route, keep_if_answered_now);
        co_return co_await drop_body(keep);
      }
      may_be_public = st_.cfg.routes[*route_].is_public;
    } else {
      may_be_public = st_.routes.may_match_public(in);
    }
    if (auto no = admission_.check_key(*view_, req, may_be_public)) {
      const bool keep = co_await refuse(*no, keep_if_answered_now);
      co_return co_await drop_body(keep);
    }
    // The route known and nothing of the body needed: the whole admission now, so a request over
    // its key's rate or concurrency gets its 429 before its body too.
    const bool admitted = route_ && admission_.admits_on_header(*view_, st_.cfg.routes[*route_]);
    if (admitted) {
      lazy_json no_body({});
      const request_view head{req.target(), req, d_.client_ip, no_body};
      if (auto no = co_await admission_.admit(*view_, req, st_.cfg.routes[*route_], head, std::nullopt)) {
        const bool keep = co_await refuse(*no, keep_if_answered_now);
        co_return co_await drop_body(keep);
      }
    }

    if (!parser_.is_done()) {
      if (boost::beast::iequals(req[http::field::expect], "100-continue")) {
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        auto [cec, cn] = co_await asio::async_write(d_.stream, asio::buffer(cont), tok);
        if (cec) co_return client_aborted();
      }
      if (auto bec = co_await d_.read_body(parser_, lim, request_deadline(), bytes_in_)) {
        if (bec == proxy_errc::body_timeout) co_return co_await fail(proxy_errc::body_timeout, false);
        if (bec == http::error::body_limit) co_return co_await fail(proxy_errc::body_too_large, false);
        if (bec == http::error::buffer_overflow)
          co_return co_await fail(proxy_errc::chunk_metadata_too_large, false);
        if (client_gone(bec)) co_return client_aborted();
        co_return co_await fail(proxy_errc::bad_request, false);
      }
    }
    if (header_section) drop_trailer_fields(req, *header_section);

    lazy_json body(req.body());
    const request_view view{req.target(), req, d_.client_ip, body};
    std::optional<std::string> model;
    if (st_.routes.needs_model()) {
      // Built afresh: dropping the trailers may have moved the header fields `in` pointed into.
      route_input with_model{req.target(), req[http::field::host], &req, std::nullopt};
      if ((model = requested_model(view))) with_model.model = *model;
      route_ = st_.routes.match(with_model);
      if (!route_) co_return co_await fail(proxy_errc::no_route, req.keep_alive());
    }
    if (!admitted)
      if (auto no = co_await admission_.admit(*view_, req, st_.cfg.routes[*route_], view, model))
        co_return co_await refuse(*no, req.keep_alive());
    co_return co_await forward(view);
  }

  // An answer went out before the body: a body kept for (keep_after_early_answer) is read and
  // dropped so the connection can carry on.
  asio::awaitable<bool> drop_body(bool keep) {
    if (keep && !parser_.is_done()) {
      const auto ec = co_await d_.read_body(parser_, st_.cfg.limit, request_deadline(), bytes_in_);
      keep = !ec;
    }
    co_return keep;
  }

  // The peer is another proxy the config trusts with the forwarding headers it sends.
  bool trusted_peer() const {
    const auto& trusted = st_.cfg.trusted_proxies;
    if (trusted.empty()) return false;
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(d_.client_ip, ec);
    return !ec && in_cidrs(trusted, address);
  }

  clock::time_point request_deadline() const { return start_ + st_.cfg.limit.request_timeout; }

  asio::awaitable<bool> refuse(const refusal& no, bool keep_alive) {
    status_ = no.status;
    error_ = no.label;
    co_return co_await admission_.refuse(st_, d_, no, request_id_, keep_alive);
  }

  // What one pool made of the request: a relayed response, an error to send, or a reason to try
  // the route's fallback pool (no healthy backend, or 429/5xx before any byte reached the client).
  struct pool_outcome {
    enum class kind { relayed, failed, fallback, client_gone } what;
    bool keep = false;
    proxy_errc error = proxy_errc::upstream_connect_failed;
  };

  asio::awaitable<bool> forward(const request_view& view) {
    auto& req = parser_.get();
    const auto& route = st_.cfg.routes[*route_];
    const bool client_keep_alive = req.keep_alive();
    const unsigned client_version = req.version();

    // The cache decides on the request as the client sent it, then may answer it (a hit).
    cache_stage cache(st_, *route_, req, admission_.key_id());
    cache.on_hit_header([this](http::response_header<>& h) { admission_.on_cached_response_header(h); });
    cache_ = &cache;
    auto early = co_await cache.before_forward(d_, request_id_, client_keep_alive, client_version,
                                               request_deadline());
    if (early.what == cache_answer::kind::answered) {
      status_ = early.status;
      error_ = early.error;
      bytes_out_ += early.bytes;
      co_return early.keep;
    }

    forward_context ctx{d_.client_ip, d_.tls, request_id_, d_.client_cert};
    ctx.trusted_peer = trusted_peer();
    prepare_upstream_request(req, ctx);
    // The usage is read from the response for the token quota: a compressed one would hide it.
    if (admission_.reads_usage()) req.set(http::field::accept_encoding, "identity");
    req.version(11);
    req.prepare_payload();

    const bool has_fallback = route.fallback_index.has_value();
    auto out = co_await try_pool(route.pool_index, view, has_fallback, client_keep_alive, client_version);
    if (out.what == pool_outcome::kind::fallback)
      out = co_await try_pool(*route.fallback_index, view, false, client_keep_alive, client_version);
    if (out.what == pool_outcome::kind::relayed) co_return out.keep;
    if (out.what == pool_outcome::kind::client_gone) co_return false;
    co_return co_await fail(out.error, client_keep_alive);
  }

  // Picks backends of pool `pi` with its policy and sends the request until one answers, retrying
  // per the pool's retry policy. Never retries once a response byte went to the client.
  asio::awaitable<pool_outcome> try_pool(std::size_t pi, const request_view& view, bool has_fallback,
                                         bool client_keep_alive, unsigned client_version) {
    using kind = pool_outcome::kind;
    auto& req = parser_.get();
    auto& pool = *view_->pools[pi];
    const auto& pcfg = pool.settings();
    const auto& route_cfg = st_.cfg.routes[*route_];
    const auto& policy = pcfg.retries;
    auto& live = st_.pool(pi);
    const auto& pm = st_.metrics.pool(pi);
    const bool head = req.method() == http::verb::head;
    const auto deadline = request_deadline();
    const kind give_up = has_fallback ? kind::fallback : kind::failed;
    // A fallback pool serves better than this pool's backends in panic mode.
    const auto none_healthy = has_fallback ? when_none_healthy::report : when_none_healthy::pool_setting;

    std::optional<std::uint64_t> key_hash;
    if (pcfg.policy == config::balance_policy::consistent_hash)
      if (auto key = hash_key_of(pcfg.key, view)) key_hash = hash64(*key);

    in_flight_guard active(live.active), retrying, busy;
    backend_set tried;
    std::optional<std::size_t> backend;
    bool allow_reuse = true;
    unsigned tries = 0;
    proxy_errc last = proxy_errc::upstream_connect_failed;
    auto may_retry = [&] {
      return tries < policy.attempts && tried.count() < live.size() &&
             retry_budget_allows(policy, live.retries_in_flight.load(std::memory_order_relaxed),
                                 live.active.load(std::memory_order_relaxed));
    };
    // The attempt on `b` failed in a way that counts against it (outlier ejection).
    auto failed_on = [&](std::size_t b, failure_kind kind = failure_kind::error) {
      pm.backends[b].retries->Increment();
      if (!live.record_failure(b, clock::now(), kind)) return;
      if (kind == failure_kind::refused)
        spdlog::warn("pool {}: backend {} ejected: connection refused", pcfg.name, pcfg.backends[b].label());
      else
        spdlog::warn("pool {}: backend {} ejected after {} consecutive failures", pcfg.name,
                     pcfg.backends[b].label(), pcfg.outliers.consecutive_failures);
    };
    auto move_on = [&](std::size_t b) {
      tried[b] = true;
      backend.reset();
      busy.reset();
      allow_reuse = true;
    };

    for (;;) {
      if (!backend) {
        auto picked = view_->balancers[pi].pick(key_hash, tried, clock::now(), none_healthy);
        if (picked.what == pick_result::outcome::no_healthy_backend) co_return pool_outcome{give_up, false, proxy_errc::no_healthy_backend};
        if (picked.what == pick_result::outcome::circuit_open) co_return pool_outcome{give_up, false, proxy_errc::circuit_open};
        if (picked.what != pick_result::outcome::picked) co_return pool_outcome{give_up, false, last};
        backend = picked.backend;
        if (tries > 0) {
          pm.retries->Increment();
          if (tries == 1) retrying = in_flight_guard(live.retries_in_flight);
          co_await retry_pause(policy, tries - 1, w_.random());
        }
        ++tries;
        busy = in_flight_guard(live.at(*backend).in_flight);
      }
      const std::size_t b = *backend;
      auto [cec, lease] = co_await pool.acquire(b, allow_reuse);
      if (cec) {
        last = cec == proxy_errc::upstream_connect_timeout ? proxy_errc::upstream_connect_timeout
                                                            : proxy_errc::upstream_connect_failed;
        // Nothing listens: the strongest sign the backend is gone (HAProxy's layer-4
        // observation), so it leaves the rotation at once rather than after a failure streak.
        failed_on(b, cec == asio::error::connection_refused ? failure_kind::refused : failure_kind::error);
        move_on(b);
        // A connect that failed reached no application: always safe to repeat, and outside the
        // retry budget, which guards sick backends against extra load this attempt never made
        // (12 clients spent the budget at once on a killed backend and got 502s).
        if (policy.on_connect_failure && tries < policy.attempts && tried.count() < live.size())
          continue;
        co_return pool_outcome{give_up, false, last};
      }
      upstream_ = pcfg.backends[b].label();
      auto& up = *lease;
      // Until the answer's header: a client that leaves cancels the upstream request, whose
      // connection then closes with the lease (the backend stops working for nobody).
      auto watch = w_.watchlist().watch(d_.stream.socket().native_handle(), route_cfg.half_close_aborts, [&up] {
        boost::system::error_code ignored;
        up.stream.socket().cancel(ignored);
      });
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
      if (watch.gone()) {
        client_aborted();
        status_ = 499;  // nginx's "client closed request", in the access log and metrics
        co_return pool_outcome{kind::client_gone};
      }
      watch.reset();
      if (rec) {
        if (timed_out) {
          failed_on(b);
          // The request reached the backend: not safe to repeat.
          co_return pool_outcome{kind::failed, false,
                                 clock::now() >= deadline ? proxy_errc::request_timeout : proxy_errc::upstream_timeout};
        }
        const bool nothing_back = !rp || !rp->got_some();
        if (up.reused && nothing_back && allow_reuse) {
          // A pooled connection the backend had closed: once more on a fresh one, same backend.
          allow_reuse = false;
          continue;
        }
        failed_on(b);
        last = nothing_back ? proxy_errc::upstream_reset : proxy_errc::upstream_protocol_error;
        move_on(b);
        if (nothing_back && policy.on_reset && may_retry()) continue;
        co_return pool_outcome{kind::failed, false, last};
      }
      auto& res = rp->get();
      const unsigned status = res.result_int();
      take_load_report(live, b, res);
      if (status >= 500) failed_on(b);
      else live.record_success(b);
      // The response is dropped unread (its connection closes with the lease) before a retry.
      if (retry_on_status(policy, status) && may_retry()) {
        move_on(b);
        continue;
      }
      if (has_fallback && (status == 429 || status >= 500)) co_return pool_outcome{kind::fallback, false, last};
      ttfb_ = seconds_since(sent_at);
      pm.ttfb->Observe(ttfb_);
      bool keep = co_await relay(lease, *rp, client_keep_alive, client_version, deadline);
      co_return pool_outcome{kind::relayed, keep};
    }
  }

  asio::awaitable<bool> relay(upstream_lease& lease, response_parser& rp, bool client_keep_alive,
                              unsigned client_version, clock::time_point deadline) {
    status_ = rp.get().result_int();
    const relay_params params{request_id_, client_keep_alive, client_version,
                              st_.draining.load(std::memory_order_relaxed), deadline};
    const auto out = co_await relay_response(d_, lease, rp, params, admission_, *cache_);
    bytes_out_ += out.bytes;
    if (out.how == relay_outcome::end::client_gone) co_return client_aborted();
    if (out.how == relay_outcome::end::upstream_aborted) {
      st_.metrics.upstream_aborts.Increment();
      error_ = "upstream_aborted";
      co_return false;
    }
    co_return out.keep;
  }

  // The client left mid-request (nothing was forwarded) or mid-response: then the lease is
  // dropped unreleased by the caller, which closes the upstream connection and so stops the
  // backend generating for nobody.
  bool client_aborted() {
    st_.metrics.client_aborts.Increment();
    if (cache_) cache_->on_client_gone();  // a leader's followers do not pay for its client
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
  std::shared_ptr<worker_view> view_;  // this request's generation, whatever reloads happen
  runtime_state& st_;
  const clock::time_point start_ = clock::now();
  const std::chrono::system_clock::time_point wall_start_ = std::chrono::system_clock::now();
  request_parser parser_;
  std::string request_id_;
  std::optional<std::size_t> route_;
  cache_stage* cache_ = nullptr;  // set by forward() for the relay's recording hooks
  std::string upstream_;
  std::string_view error_;
  unsigned status_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  double ttfb_ = -1;
  request_admission admission_;  // declared last: its permit is released before the rest goes
};

}  // namespace

asio::awaitable<bool> exchange(worker& w, downstream& d) {
  exchange_op op(w, d);
  co_return co_await op.run();
}

}  // namespace modelgate::proxy
