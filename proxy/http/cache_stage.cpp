#include "proxy/http/cache_stage.hpp"

#include "proxy/cache/cache_control.hpp"
#include "proxy/cache/cache_key.hpp"
#include "proxy/cache/entry_codec.hpp"
#include "proxy/cache/request_body.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <openssl/evp.h>
#include <spdlog/spdlog.h>

#include <charconv>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);
using clock = std::chrono::steady_clock;

std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }

// Every line of header `name`, joined with ", " (RFC 9110 §5.3).
std::string joined(const http::fields& f, std::string_view name) {
  std::string out;
  for (auto [it, end] = f.equal_range(name); it != end; ++it) {
    if (!out.empty()) out += ", ";
    out += sv(it->value());
  }
  return out;
}

// Where a follower's outcome lands: set on the follower's own executor, which then wakes it.
struct outcome_slot {
  explicit outcome_slot(const asio::any_io_executor& ex) : wake(ex) {}
  std::optional<cache::follower_outcome> got;
  asio::steady_timer wake;
};

}  // namespace

std::string caller_fingerprint(const cache_stage::request& req) {
  auto auth = sv(req[http::field::authorization]);
  auto api_key = sv(req["x-api-key"]);
  if (auth.empty() && api_key.empty()) return {};
  std::string material = "authorization\n";
  material += auth;
  material += "\nx-api-key\n";
  material += api_key;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(material.data(), material.size(), digest, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 16 && i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

cache_stage::cache_stage(runtime_state& st, std::size_t route, const request& req,
                         std::optional<std::string_view> api_key_id)
    : st_(st), route_(route) {
  if (!st.cache || !st.cache->policy(route).enabled) return;
  rt_ = st.cache.get();
  const auto& policy = rt_->policy(route);
  const auto body = cache::request_body::parse(sv(req.body()));
  const auto client_cc = cache::parse_cache_control(joined(req, "cache-control"));
  const auto method = sv(req.method_string());
  decision_ = cache::decide_request(policy, method, body, client_cc);
  if (decision_.action == cache::request_action::bypass) {
    x_cache_ = "BYPASS";
    if (auto* c = rt_->counters(route).bypasses[static_cast<std::size_t>(decision_.reason)])
      c->Increment();
    return;
  }
  x_cache_ = "MISS";
  std::vector<std::string> values;
  values.reserve(policy.vary.size());  // vary_value views into it: no reallocation
  std::vector<cache::vary_value> vary;
  for (const auto& name : policy.vary) {
    if (req.find(name) == req.end()) {
      vary.push_back({name, std::nullopt});
      continue;
    }
    values.push_back(joined(req, name));
    vary.push_back({name, std::string_view(values.back())});
  }
  // Seam for authentication: once it gives the key id, it is passed in and no header is hashed.
  std::string fingerprint;
  if (!api_key_id && policy.scope == cache::key_scope::per_api_key) fingerprint = caller_fingerprint(req);
  auto [path, query] = cache::split_target(sv(req.target()));
  // The route's identity, not its name, and the Host: two routes or two virtual hosts that
  // answer the same path differently never share an entry (the port is dropped, as routes do).
  key_ = cache::make_key({.method = method,
                          .route = rt_->route_identity(route),
                          .host = sv(req[http::field::host]),
                          .path = path,
                          .query = query,
                          .body = &body,
                          .vary = vary,
                          .api_key_id = api_key_id.value_or(std::string_view(fingerprint)),
                          .scope = policy.scope});
  ttl_ = policy.ttl.value_or(rt_->store.default_ttl());
}

cache_stage::~cache_stage() = default;

asio::awaitable<cache_answer> cache_stage::before_forward(downstream& d, std::string_view request_id,
                                                          bool keep_alive, unsigned version,
                                                          clock::time_point deadline) {
  if (!rt_ || decision_.action == cache::request_action::bypass) co_return cache_answer{};
  executor_ = co_await asio::this_coro::executor;
  const auto& counters = rt_->counters(route_);
  if (decision_.action == cache::request_action::refresh) {
    counters.misses->Increment();
    co_return cache_answer{};
  }
  if (auto e = rt_->store.lookup(key_, clock::now(), decision_.max_age)) {
    counters.hits->Increment();
    co_return co_await replay(d, *e, request_id, keep_alive, version, deadline);
  }
  auto outcome = co_await wait_for_leader(std::min(deadline, clock::now() + rt_->coalesce_timeout()));
  if (!outcome) {
    // This request leads. A flight may have completed between the lookup and the join.
    auto e = rt_->store.lookup(key_, clock::now(), decision_.max_age);
    if (auto* tier = rt_->redis_tier(); !e && tier) e = co_await fetch_shared(*tier);
    if (e) {
      lease_.complete(e);
      counters.hits->Increment();
      co_return co_await replay(d, *e, request_id, keep_alive, version, deadline);
    }
    counters.misses->Increment();
    co_return cache_answer{};
  }
  counters.coalesced->Increment();
  switch (outcome->result) {
    case cache::wait_result::use_entry:
      counters.hits->Increment();
      co_return co_await replay(d, *outcome->entry, request_id, keep_alive, version, deadline);
    case cache::wait_result::lead:
      lease_ = std::move(outcome->lease);
      break;
    case cache::wait_result::proceed:
    case cache::wait_result::timed_out:
      break;
  }
  counters.misses->Increment();
  co_return cache_answer{};
}

// The entry another proxy stored in Redis, put in the local store; null on a miss or any failure.
asio::awaitable<std::shared_ptr<const cache::cache_entry>> cache_stage::fetch_shared(
    cache_redis_tier& tier) {
  auto bytes = co_await tier.get(key_);
  if (!bytes) co_return nullptr;
  const auto now = clock::now();
  std::shared_ptr<const cache::cache_entry> e =
      cache::decode_entry(*bytes, now, rt_->store.max_entry_bytes());
  if (!e || (decision_.max_age && e->age(now) > *decision_.max_age)) co_return nullptr;
  rt_->store.insert(key_, e, now);
  rt_->count_redis_hit();
  co_return e;
}

// Joins the key's flight. nullopt: this request leads (lease_ is set). Otherwise the outcome the
// leader's thread handed over through this worker's executor, or timed_out at `deadline`.
asio::awaitable<std::optional<cache::follower_outcome>> cache_stage::wait_for_leader(
    clock::time_point deadline) {
  auto ex = co_await asio::this_coro::executor;
  auto slot = std::make_shared<outcome_slot>(ex);
  cache::waiter w = [slot, ex](cache::follower_outcome o) mutable {
    asio::post(ex, [slot, o = std::move(o)]() mutable {
      slot->got = std::move(o);
      slot->wake.cancel();
    });
  };
  auto joined_flight = rt_->flights.join(key_, deadline, std::move(w));
  if (joined_flight.leads()) {
    lease_ = std::move(joined_flight.lease);
    co_return std::nullopt;
  }
  slot->wake.expires_at(deadline);
  co_await slot->wake.async_wait(tok);
  if (!slot->got) {
    if (rt_->flights.cancel(key_, joined_flight.waiter_id))
      co_return cache::follower_outcome{cache::wait_result::timed_out, nullptr, {}};
    // The outcome is on its way to this executor: wait for it.
    slot->wake.expires_at(clock::time_point::max());
    co_await slot->wake.async_wait(tok);
  }
  co_return std::move(slot->got);
}

asio::awaitable<cache_answer> cache_stage::replay(downstream& d, const cache::cache_entry& e,
                                                  std::string_view request_id, bool keep_alive,
                                                  unsigned version, clock::time_point deadline) {
  cache_answer a{cache_answer::kind::answered, false, e.status, 0, {}};
  http::response<http::buffer_body> res{static_cast<http::status>(e.status), version >= 11 ? 11u : 10u};
  // Entries decoded from the shared tier were written by other processes: keep only what a
  // recorder here would have kept (never another caller's x-ratelimit-* or retry-after).
  for (const auto& h : e.headers)
    if (cache::is_stored_header(h.name)) res.insert(h.name, h.value);
  res.set(http::field::age, std::to_string(e.age(clock::now()).count()));
  res.set("x-cache", "HIT");
  res.set("x-request-id", request_id);
  if (hit_header_) hit_header_(res);
  keep_alive = keep_alive && !st_.draining.load(std::memory_order_relaxed);
  res.keep_alive(keep_alive);
  // A stream replays as one chunk per recorded piece (HTTP/1.0 clients get it whole).
  const bool chunked = e.framing == cache::body_framing::chunked && version >= 11;
  if (chunked) res.chunked(true);
  else res.content_length(e.body.size());

  http::response_serializer<http::buffer_body> sr{res};
  auto& body = res.body();
  // buffer_body takes a mutable pointer but only reads through it.
  auto point_at = [&body](std::string_view piece, bool more) {
    body.data = piece.empty() ? nullptr : const_cast<char*>(piece.data());
    body.size = piece.size();
    body.more = more;
  };
  d.deadline.expires_at(deadline);
  auto [hec, hn] = co_await http::async_write_header(d.stream, sr, tok);
  bool ok = !hec;
  const std::size_t pieces = chunked ? e.piece_count() : 0;
  for (std::size_t i = 0; ok && i <= pieces; ++i) {
    if (chunked) point_at(i < pieces ? e.piece(i) : std::string_view(), i < pieces);
    else point_at(e.body, false);
    auto [wec, wn] = co_await http::async_write(d.stream, sr, tok);
    ok = !wec || wec == http::error::need_buffer;
  }
  d.deadline.disarm();
  if (!ok) {
    st_.metrics.client_aborts.Increment();
    a.error = "client_aborted";
    co_return a;
  }
  a.bytes = e.body.size();
  a.keep = keep_alive;
  co_return a;
}

void cache_stage::on_response_header(http::response<http::buffer_body>& res) {
  if (!rt_) return;
  res.set("x-cache", x_cache_);
  if (decision_.action == cache::request_action::bypass) return;
  auto cc = cache::parse_cache_control(joined(res, "cache-control"));
  if (rt_->ignores_stream_no_cache(route_) &&
      sv(res[http::field::content_type]).starts_with("text/event-stream"))
    cc.no_cache = false;
  const auto rd = cache::decide_response(res.result_int(), cc, ttl_, sv(res[http::field::vary]));
  if (!rd.store) {
    lease_.disband();  // followers forward on their own
    return;
  }
  ttl_ = rd.ttl;
  std::size_t expected = 0;
  if (!res.chunked()) {
    auto cl = sv(res[http::field::content_length]);
    std::from_chars(cl.data(), cl.data() + cl.size(), expected);
  }
  recorder_.emplace(rt_->store.max_entry_bytes());
  recorder_->begin(res.result_int(),
                   res.chunked() ? cache::body_framing::chunked : cache::body_framing::content_length,
                   expected);
  for (const auto& f : res) recorder_->add_header(sv(f.name_string()), sv(f.value()));
  on_body_piece({});
}

void cache_stage::on_body_piece(std::string_view piece) {
  if (!recorder_) return;
  recorder_->append(piece);
  if (recorder_->recording()) return;
  recorder_.reset();  // over the cap: the relay carries on, nothing is stored
  lease_.disband();
}

void cache_stage::on_response_complete() {
  if (!recorder_) return;
  const auto now = clock::now();
  std::shared_ptr<const cache::cache_entry> e = recorder_->finish(rt_->route_name(route_), now, ttl_);
  recorder_.reset();
  if (!e) {
    lease_.disband();
    return;
  }
  if (rt_->store.insert(key_, e, now) == cache::lru_store::insert_result::stored) rt_->count_store();
  if (auto* tier = rt_->redis_tier(); tier && executor_) {
    // Shared in the background: the client's response is already complete.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(e->expires_at - now);
    asio::co_spawn(*executor_, tier->set(key_, cache::encode_entry(*e, now), left),
                   [](std::exception_ptr ex) {
                     if (!ex) return;
                     try {
                       std::rethrow_exception(ex);
                     } catch (const std::exception& what) {
                       spdlog::error("cache: redis write: {}", what.what());
                     }
                   });
  }
  lease_.complete(std::move(e));
}

void cache_stage::on_client_gone() {
  recorder_.reset();
  lease_.hand_over();
}

}  // namespace modelgate::proxy
