#pragma once
// The response cache's part of one exchange: before forwarding, decide, build the key, answer a
// hit or wait for an identical in-flight request (single-flight); while relaying, tee the
// response into an entry and store it. exchange.cpp calls it at three points (see docs/cache.md).

#include "proxy/cache/cacheability.hpp"
#include "proxy/cache/response_recorder.hpp"
#include "proxy/http/downstream.hpp"
#include "proxy/runtime_state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace modelgate::proxy {

/// What the cache made of a request before it is forwarded.
struct cache_answer {
  enum class kind {
    forward,   // go upstream (a miss, a bypass, or a route that does not cache)
    answered,  // a stored response was written to the client (a hit)
  } what = kind::forward;
  bool keep = false;          // answered: the connection may carry another request
  unsigned status = 0;        // answered: status sent
  std::uint64_t bytes = 0;    // answered: body bytes sent
  std::string_view error;     // answered: "client_aborted" when the write failed
};

/// One per exchange, on its worker's thread. Keeps the single-flight lease while the leader's
/// response is relayed; dropping the stage with the lease unfinished fails the flight, which
/// promotes a follower (so followers never hang behind a leader that errored or vanished).
/// A leader whose client left hands the flight over instead (on_client_gone()).
class cache_stage {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  /// Decides and computes the key from the request as the client sent it (call before the
  /// headers are rewritten for the upstream). `api_key_id`: the authenticated caller's key id;
  /// when not given, a SHA-256 of the raw Authorization / x-api-key values stands in for it.
  cache_stage(runtime_state& st, std::size_t route, const request& req,
              std::optional<std::string_view> api_key_id = std::nullopt);
  cache_stage(const cache_stage&) = delete;
  cache_stage& operator=(const cache_stage&) = delete;
  ~cache_stage();

  /// Looks the request up and, on a miss, joins its flight: a follower waits (on this worker's
  /// executor) for the leader's entry. Writes a hit to `d` before returning `answered`.
  boost::asio::awaitable<cache_answer> before_forward(downstream& d, std::string_view request_id,
                                                      bool keep_alive, unsigned version,
                                                      std::chrono::steady_clock::time_point deadline);

  /// Called on the header of a hit before it is written (e.g. to add x-ratelimit-* headers).
  void on_hit_header(std::function<void(boost::beast::http::response_header<>&)> f) {
    hit_header_ = std::move(f);
  }

  /// The upstream's response header, after hop-by-hop removal and final framing: sets `x-cache`
  /// and starts recording when the response may be stored.
  void on_response_header(boost::beast::http::response<boost::beast::http::buffer_body>& res);
  /// One body piece, after it was written to the client.
  void on_body_piece(std::string_view piece);
  /// The response was relayed completely: store the entry and hand it to the followers.
  void on_response_complete();
  /// The client left before its answer was complete (the exchange stops): a leader hands its
  /// flight to the oldest follower, which is not a failed attempt, so the followers never pay
  /// for a client that gave up.
  void on_client_gone();

 private:
  boost::asio::awaitable<std::optional<cache::follower_outcome>> wait_for_leader(
      std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<std::shared_ptr<const cache::cache_entry>> fetch_shared(
      cache_redis_tier& tier);
  boost::asio::awaitable<cache_answer> replay(downstream& d, const cache::cache_entry& e,
                                              std::string_view request_id, bool keep_alive,
                                              unsigned version,
                                              std::chrono::steady_clock::time_point deadline);

  runtime_state& st_;
  std::function<void(boost::beast::http::response_header<>&)> hit_header_;
  cache_runtime* rt_ = nullptr;  // null: the route does not cache
  std::size_t route_ = 0;
  cache::request_decision decision_;
  cache::cache_key key_;
  std::string_view x_cache_;  // "MISS" or "BYPASS" on a forwarded response
  cache::flight_lease lease_;
  std::optional<cache::response_recorder> recorder_;
  cache::duration ttl_{};
  std::optional<boost::asio::any_io_executor> executor_;  // for the Redis write after the relay
};

/// Stand-in for the API key id until authentication provides one: the first 16 bytes of
/// SHA-256 over the raw `Authorization` and `x-api-key` values, hex; "" when neither is sent.
/// The raw key is never kept.
std::string caller_fingerprint(const cache_stage::request& req);

}  // namespace modelgate::proxy
