#include "proxy/http/admission.hpp"

#include "proxy/http/address_bytes.hpp"
#include "proxy/http/worker.hpp"
#include "proxy/quota/store_error.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

#include <cstring>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_json_tee = 1 << 20;

std::vector<quota::api_key> to_api_keys(const config::auth_settings& auth) {
  std::vector<quota::api_key> out;
  for (const auto& k : auth.keys) {
    quota::api_key a;
    a.id = k.id;
    std::memcpy(a.digest.data(), k.sha256.data(), a.digest.size());
    a.routes = k.routes;
    a.quota = quota::quota_limits{k.quota.requests_per_second, k.quota.burst,
                                  k.quota.max_concurrent, k.quota.tokens_per_minute};
    out.push_back(std::move(a));
  }
  return out;
}

prometheus::Family<prometheus::Counter>& family(prometheus::Registry& r, const char* name,
                                                const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

struct refusal_text {
  std::string_view label, message;
};

refusal_text text_of(quota::reject_reason r) {
  using rr = quota::reject_reason;
  switch (r) {
    case rr::unauthorized:
      return {"unauthorized",
              "missing or unknown API key (send Authorization: Bearer KEY or x-api-key)"};
    case rr::forbidden:
      return {"forbidden", "this API key may not use this route or model"};
    case rr::rate:
      return {"rate_limited", "request rate limit of this API key exceeded"};
    case rr::concurrency:
      return {"concurrency_limited", "too many requests of this API key in flight"};
    case rr::tokens:
      return {"tokens_limited", "token-per-minute limit of this API key exceeded"};
    case rr::unavailable:
      return {"quota_unavailable", "the quota store is unavailable"};
  }
  return {"unknown", "internal error"};
}

refusal make_refusal(const quota::decision& d) {
  auto text = text_of(*d.rejected);
  return refusal{quota::http_status(*d.rejected), text.label, text.message,
                 quota::response_headers(d)};
}

}  // namespace

quota_state::quota_state(const config::proxy_config& cfg, prometheus::Registry& reg,
                         const quota_state* previous)
    : auth(cfg.auth),
      store(cfg.quota_store),
      keys(to_api_keys(cfg.auth)),
      local_ptr(previous ? previous->local_ptr : std::make_shared<quota::local_store>()),
      local(*local_ptr) {
  if (previous)
    for (const auto& k : previous->keys.keys())
      if (!keys.find_id(k.id)) local.forget(k.id);
  auto& requests = family(reg, "modelgate_quota_requests_total",
                          "Requests that presented a valid API key, by key id");
  auto& rejections = family(reg, "modelgate_quota_rejections_total",
                            "Requests with a valid API key refused, by key id and reason "
                            "(forbidden, rate, concurrency, tokens, unavailable)");
  auto& tokens = family(reg, "modelgate_quota_tokens_total",
                        "Model tokens used (usage.total_tokens of responses), by key id");
  auto& auth_rejections = family(reg, "modelgate_auth_rejections_total",
                                 "Requests refused with 401, by reason (missing_key, unknown_key)");
  auto& fallbacks = family(reg, "modelgate_quota_store_fallbacks_total",
                           "Quota checks decided by the local limiter because the shared store "
                           "failed (on_error: allow)");
  store_errors = &family(reg, "modelgate_quota_store_errors_total",
                         "Failed calls to the shared quota store, by kind");
  auto& denied = family(reg, "modelgate_auth_denied_connections_total",
                        "Connections closed at accept because the client address is outside "
                        "the listener's allow_cidrs");
  missing_key = &auth_rejections.Add({{"reason", "missing_key"}});
  unknown_key = &auth_rejections.Add({{"reason", "unknown_key"}});
  store_fallbacks = &fallbacks.Add({});
  if (store.kind == config::quota_store_settings::store::redis)
    for (auto kind :
         {"timeout", "connect_failed", "backing_off", "disconnected", "protocol", "script"})
      store_errors->Add({{"kind", kind}});
  using rr = quota::reject_reason;
  for (const auto& k : keys.keys()) {
    key_counters c;
    c.requests = &requests.Add({{"key", k.id}});
    for (auto r : {rr::forbidden, rr::rate, rr::concurrency, rr::tokens, rr::unavailable})
      c.rejections[static_cast<std::size_t>(r)] =
          &rejections.Add({{"key", k.id}, {"reason", std::string(quota::reason_name(r))}});
    c.tokens = &tokens.Add({{"key", k.id}});
    per_key.push_back(c);
    for (const auto& entry : k.routes) keys_name_models |= !entry.empty() && entry.front() != '/';
  }
  for (std::size_t i = 0; i < cfg.listeners.size(); ++i) {
    allow_.push_back(cfg.listeners[i].allow_cidrs);
    denied_connections.push_back(&denied.Add({{"listener", std::to_string(i)}}));
  }
}

void quota_state::count_store_error(const boost::system::error_code& ec) const {
  store_errors->Add({{"kind", std::string(quota::store_error_name(ec))}}).Increment();
}

bool quota_state::peer_allowed(std::size_t listener, const tcp::socket& socket) const {
  const auto& list = allow_[listener];
  if (list.empty()) return true;
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (!ec && in_cidrs(list, peer.address())) return true;
  denied_connections[listener]->Increment();
  spdlog::debug("listener {}: closed a connection from {} (not in allow_cidrs)", listener,
                ec ? std::string("unknown") : peer.address().to_string());
  return false;
}

namespace {

std::unique_ptr<quota::redis_store> make_redis(const quota_state& state, asio::any_io_executor ex) {
  const auto& s = state.store;
  if (!state.enabled() || s.kind != config::quota_store_settings::store::redis) return nullptr;
  quota::redis_store_options o;
  o.host = s.host;
  o.port = s.port;
  o.pool_size = s.pool_size;
  o.timeout = s.timeout;
  o.reconnect_backoff = s.reconnect_backoff;
  o.key_prefix = s.key_prefix;
  return std::make_unique<quota::redis_store>(ex, o);
}

quota::on_store_error policy_of(const quota_state& state) {
  return state.store.on_error == config::quota_store_settings::on_failure::deny
             ? quota::on_store_error::deny
             : quota::on_store_error::allow;
}

}  // namespace

worker_quota::worker_quota(quota_state& state, asio::any_io_executor ex)
    : redis_(make_redis(state, ex)), gate_(state.local, redis_.get(), policy_of(state)) {
  if (!redis_) return;
  // Warm-up, so the first request does not pay for connect + SCRIPT LOAD; failing is fine.
  asio::co_spawn(ex, redis_->start(), [](std::exception_ptr, boost::system::error_code ec) {
    if (ec) spdlog::warn("quota store: Redis not reachable yet ({}); will retry", ec.message());
  });
}

worker_quota::~worker_quota() = default;

asio::awaitable<bool> send_refusal(downstream& d, const refusal& r, std::string_view request_id,
                                   bool keep_alive) {
  http::fields extra;
  for (const auto& h : r.headers) extra.set(h.name, h.value);
  // Not a coroutine: a temporary inside a co_await expression is what GCC 12 destroys twice.
  return d.send_json_error(r.status, r.label, r.message, request_id, keep_alive, std::move(extra));
}

std::optional<refusal> request_admission::check_key(const worker_view& w, const request& req,
                                                    bool may_be_public) {
  const auto& st = w.state->quota;
  if (!st.enabled() || may_be_public) return std::nullopt;
  const auto presented =
      quota::extract_api_key(req[http::field::authorization], req["x-api-key"]);
  presented_key_ = presented ? st.keys.find(*presented) : nullptr;
  key_looked_up_ = true;
  if (presented_key_) return std::nullopt;
  (presented ? st.unknown_key : st.missing_key)->Increment();
  return make_refusal(quota::decision::reject(quota::reject_reason::unauthorized));
}

bool request_admission::admits_on_header(const worker_view& w, const config::route& route) const {
  const auto& st = w.state->quota;
  if (!st.enabled() || route.is_public) return true;
  // A key check_key() did not look up (a route that might have been public) waits for admit().
  if (st.keys_name_models || !presented_key_) return false;
  return !presented_key_->quota.limits_tokens();
}

asio::awaitable<std::optional<refusal>> request_admission::admit(
    worker_view& w, const request& req, const config::route& route, const request_view& view,
    const std::optional<std::string>& model) {
  auto& st = w.state->quota;
  if (!st.enabled() || route.is_public) co_return std::nullopt;
  const auto authorization = req[http::field::authorization];
  const auto x_api_key = req["x-api-key"];
  std::optional<std::string> asked = model;
  if (!asked && st.keys_name_models) asked = requested_model(view);
  const auto model_name = asked ? std::optional<std::string_view>(*asked) : std::nullopt;
  quota::auth_result auth;
  if (key_looked_up_ && presented_key_) {
    // check_key() found the key on the header: only its allow-list is left to check.
    if (quota::route_allowed(*presented_key_, req.target(), model_name)) auth.key = presented_key_;
    else auth.rejection = quota::decision::reject(quota::reject_reason::forbidden);
  } else {
    auth = quota::authenticate(st.keys, authorization, x_api_key, req.target(), model_name);
  }
  if (!auth.key) {
    if (*auth.rejection->rejected == quota::reject_reason::unauthorized)
      (quota::extract_api_key(authorization, x_api_key) ? st.unknown_key : st.missing_key)
          ->Increment();
    else if (auto* key = st.keys.find(*quota::extract_api_key(authorization, x_api_key)))
      st.per_key[static_cast<std::size_t>(key - st.keys.keys().data())]
          .rejections[static_cast<std::size_t>(quota::reject_reason::forbidden)]
          ->Increment();
    co_return make_refusal(*auth.rejection);
  }
  state_ = &st;
  gate_ = w.quota.get();
  key_index_ = static_cast<std::size_t>(auth.key - st.keys.keys().data());
  const auto& counters = st.per_key[key_index_];
  counters.requests->Increment();
  const std::uint64_t estimate =
      auth.key->quota.limits_tokens()
          ? quota::token_estimate(req.body(), st.auth.default_token_estimate)
          : 0;
  ticket_ = co_await gate_->gate().admit(*auth.key, estimate, quota::clock::now());
  if (ticket_->store_error) st.count_store_error(ticket_->store_error);
  if (ticket_->fell_back) st.store_fallbacks->Increment();
  if (ticket_->verdict.admitted()) co_return std::nullopt;
  counters.rejections[static_cast<std::size_t>(*ticket_->verdict.rejected)]->Increment();
  auto r = make_refusal(ticket_->verdict);
  ticket_.reset();
  co_return r;
}

asio::awaitable<bool> request_admission::refuse(runtime_state& st, downstream& d, const refusal& r,
                                                std::string_view request_id, bool keep_alive) {
  st.metrics.count_error(r.label);
  keep_alive = keep_alive && !st.draining.load(std::memory_order_relaxed);
  co_return co_await send_refusal(d, r, request_id, keep_alive) && keep_alive;
}

void request_admission::on_response_header(http::response_header<>& res) {
  if (!ticket_) return;
  relayed_ = true;
  for (const auto& h : quota::response_headers(ticket_->verdict)) res.set(h.name, h.value);
  const auto type = res[http::field::content_type];
  if (boost::beast::iequals(type.substr(0, 17), "text/event-stream")) {
    source_ = usage_from::sse;
    sse_.emplace();
  } else if (type.find("json") != std::string_view::npos) {
    source_ = usage_from::json;
  }
}

void request_admission::on_cached_response_header(http::response_header<>& res) {
  if (!ticket_) return;
  for (const auto& h : quota::response_headers(ticket_->verdict)) res.set(h.name, h.value);
}

void request_admission::on_body(const void* data, std::size_t size) {
  if (source_ == usage_from::none || size == 0) return;
  std::string_view piece(static_cast<const char*>(data), size);
  if (source_ == usage_from::sse) {
    sse_->feed(piece);
  } else if (!json_too_big_) {
    if (json_.size() + size > max_json_tee) {
      json_too_big_ = true;
      json_.clear();
      json_.shrink_to_fit();
    } else {
      json_.append(piece);
    }
  }
}

asio::awaitable<void> request_admission::finish() {
  if (!ticket_) co_return;
  ticket_->permit.release();
  std::optional<std::uint64_t> used;
  if (!relayed_) {
    used = 0;  // the proxy answered with an error of its own: the client got no tokens
  } else if (source_ == usage_from::sse) {
    sse_->finish();
    used = sse_->total_tokens();
  } else if (source_ == usage_from::json && !json_too_big_) {
    used = quota::usage_total_tokens(json_);
  }
  if (!used) co_return;  // aborted or no usage: the reservation stays charged
  state_->per_key[key_index_].tokens->Increment(static_cast<double>(*used));
  ticket_->store_error = {};
  co_await gate_->gate().settle(*ticket_, *used, quota::clock::now());
  if (ticket_->store_error) state_->count_store_error(ticket_->store_error);
}

}  // namespace modelgate::proxy
