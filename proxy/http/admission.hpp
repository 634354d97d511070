#pragma once
// API keys and per-key quotas on the request path (issue 6). The decisions live in proxy/quota;
// this file carries them out: the per-config state every worker shares (key table, local store,
// metrics, listener allow-lists), the per-worker Redis store and gate, and one request's
// admission from route match to the response's last byte (x-ratelimit-* headers, usage teed from
// the relayed body, token settlement, the concurrency permit).

#include "config/config.hpp"
#include "proxy/http/any_stream.hpp"
#include "proxy/http/downstream.hpp"
#include "proxy/quota/quota_gate.hpp"
#include "proxy/quota/token_usage.hpp"
#include "proxy/routing/request_keys.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace modelgate::proxy {

struct worker_view;
struct runtime_state;

/// Built once per config; shared read-only by all workers (the local store is thread-safe, the
/// counters are atomics).
class quota_state {
 public:
  /// Registers the modelgate_auth_* / modelgate_quota_* metrics in `reg`. `previous` (a reload):
  /// its local limiter state carries over, so a reload neither refills a key's rate and token
  /// budgets nor forgets its requests in flight; keys the new file removed are forgotten.
  quota_state(const config::proxy_config& cfg, prometheus::Registry& reg,
              const quota_state* previous = nullptr);

  bool enabled() const noexcept { return !keys.empty(); }

  /// allow_cidrs of listener `listener` admits the socket's peer (always, without a list).
  /// Counts and logs a refusal.
  bool peer_allowed(std::size_t listener, const tcp::socket& socket) const;

  /// modelgate_quota_store_errors_total{kind} (error path only: looks the label up).
  void count_store_error(const boost::system::error_code& ec) const;

  struct key_counters {
    prometheus::Counter* requests = nullptr;
    std::array<prometheus::Counter*, 6> rejections{};  // by quota::reject_reason
    prometheus::Counter* tokens = nullptr;
  };

  const config::auth_settings& auth;
  const config::quota_store_settings& store;
  const quota::key_table keys;
  std::shared_ptr<quota::local_store> local_ptr;
  quota::local_store& local;
  bool keys_name_models = false;      // some allow-list entry is a model name
  std::vector<key_counters> per_key;  // parallel to keys.keys()
  prometheus::Counter* missing_key = nullptr;
  prometheus::Counter* unknown_key = nullptr;
  prometheus::Counter* store_fallbacks = nullptr;
  prometheus::Family<prometheus::Counter>* store_errors = nullptr;
  std::vector<prometheus::Counter*> denied_connections;  // per listener

 private:
  std::vector<std::vector<config::cidr>> allow_;  // per listener
};

/// Per worker thread: the Redis store (kind: redis) on that worker's executor, and the gate.
/// Not thread-safe; used only on its worker.
class worker_quota {
 public:
  worker_quota(quota_state& state, asio::any_io_executor ex);
  ~worker_quota();
  quota::quota_gate& gate() noexcept { return gate_; }

 private:
  std::unique_ptr<quota::redis_store> redis_;
  quota::quota_gate gate_;
};

/// A request refused by auth or quota: what to answer.
struct refusal {
  unsigned status = 0;
  std::string_view label;    // error type: access log, modelgate_errors_total, JSON body
  std::string_view message;  // for the client
  std::vector<quota::header_field> headers;
};

/// Sends a refusal as a JSON error body shaped like downstream::send_error's. False when the
/// write failed.
asio::awaitable<bool> send_refusal(downstream& d, const refusal& r, std::string_view request_id,
                                   bool keep_alive);

/// One request's auth + quota. Holds the concurrency permit until finish() or destruction (a
/// client that disconnects ends the exchange, which destroys this), so no slot can leak.
class request_admission {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  /// Before the body is read: a request that must carry an API key and has none, or an unknown
  /// one, is refused here (401), so a keyless client costs no body read, no `100 Continue` and no
  /// JSON parse. `may_be_public`: the route is public, or may turn out public once the body
  /// names the model; then the key is left to admit(). Counts the refusal.
  std::optional<refusal> check_key(const worker_view& w, const request& req,
                                   bool may_be_public);

  /// True when admit() needs nothing of the body for this request: no keys, a public route, or a
  /// key without a token quota while no allow-list names a model. Then the whole admission
  /// (rate, concurrency) runs before the body is read, and `100 Continue` follows it.
  bool admits_on_header(const worker_view& w, const config::route& route) const;

  /// After the route matched. nullopt: go on (admitted, no keys configured, or a public route);
  /// otherwise the 401/403/429/503 to send.
  asio::awaitable<std::optional<refusal>> admit(worker_view& w, const request& req,
                                                const config::route& route,
                                                const request_view& view,
                                                const std::optional<std::string>& model);

  /// Sends `r` (counted in modelgate_errors_total). Returns true when the connection may carry
  /// another request.
  asio::awaitable<bool> refuse(runtime_state& st, downstream& d, const refusal& r,
                               std::string_view request_id, bool keep_alive);

  /// The id of the authenticated key (nullopt: no keys configured, or a public route).
  std::optional<std::string_view> key_id() const {
    if (!state_) return std::nullopt;
    return std::string_view(state_->keys.keys()[key_index_].id);
  }

  /// The response's usage will be read (the key has a token quota): the upstream must answer
  /// uncompressed, or the usage would be hidden.
  bool reads_usage() const noexcept { return ticket_ && ticket_->limits.limits_tokens(); }

  /// Adds the x-ratelimit-* headers and chooses how usage is read (JSON or SSE).
  void on_response_header(boost::beast::http::response_header<>& res);

  /// A response served from the cache: the x-ratelimit-* headers only. It counts as a request
  /// but costs no tokens (no model ran), so finish() refunds the reservation.
  void on_cached_response_header(boost::beast::http::response_header<>& res);

  /// A piece of the relayed response body (not copied for SSE; JSON is teed up to 1 MiB).
  void on_body(const void* data, std::size_t size);

  /// After the exchange: releases the permit, counts the usage and settles the reservation
  /// (refunded in full when no upstream response was relayed: 502/503/504 from the proxy).
  asio::awaitable<void> finish();

 private:
  enum class usage_from { none, json, sse };
  quota_state* state_ = nullptr;
  worker_quota* gate_ = nullptr;
  std::size_t key_index_ = 0;
  std::optional<quota::quota_ticket> ticket_;
  // check_key()'s lookup (one SHA-256 of the presented key), reused by admit().
  const quota::api_key* presented_key_ = nullptr;
  bool key_looked_up_ = false;
  usage_from source_ = usage_from::none;
  std::string json_;
  bool json_too_big_ = false;
  bool relayed_ = false;  // an upstream response started; else the proxy answered itself
  std::optional<quota::sse_usage_scanner> sse_;
};

}  // namespace modelgate::proxy
