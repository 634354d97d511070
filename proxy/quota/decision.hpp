#pragma once
// The answer of auth + quota for one request, and the response headers that carry it
// (429/401/403/503 status, Retry-After, OpenAI-style x-ratelimit-*). Pure.

#include "proxy/quota/quota_limits.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::quota {

/// Why a request was refused. `unavailable`: the shared store failed and on_error is deny.
enum class reject_reason : std::uint8_t { rate, concurrency, tokens, unauthorized, forbidden, unavailable };

/// Metric label and log name: "rate", "concurrency", "tokens", "unauthorized", "forbidden",
/// "unavailable".
std::string_view reason_name(reject_reason r) noexcept;

/// 429 for the three quota reasons, 401, 403, and 503 for `unavailable`.
unsigned http_status(reject_reason r) noexcept;

/// One limit's state after the decision, for the x-ratelimit-{limit,remaining,reset}-* trio.
struct limit_status {
  std::uint64_t limit = 0;      // requests: the burst; tokens: tokens_per_minute
  std::uint64_t remaining = 0;  // what could still be taken right now
  clock::duration reset{};      // until the limit is fully replenished
  friend bool operator==(const limit_status&, const limit_status&) = default;
};

/// admit, or reject(reason, retry_after); either way the limits' state when it is known.
struct decision {
  std::optional<reject_reason> rejected;  // nullopt: admitted
  clock::duration retry_after{};          // for rejections; zero when unknown
  std::optional<limit_status> requests;   // absent when the key has no request-rate limit
  std::optional<limit_status> tokens;     // absent when the key has no token limit

  bool admitted() const noexcept { return !rejected.has_value(); }

  static decision admit() { return {}; }
  static decision reject(reject_reason why, clock::duration retry_after = {}) {
    decision d;
    d.rejected = why;
    d.retry_after = retry_after;
    return d;
  }
};

struct header_field {
  std::string_view name;
  std::string value;
  friend bool operator==(const header_field&, const header_field&) = default;
};

/// The headers to add to the response, in this order:
///   Retry-After (rejections for rate/concurrency/tokens/unavailable: whole seconds rounded up,
///   at least 1), WWW-Authenticate (unauthorized: `Bearer realm="modelgate"`), then for each
///   known limit x-ratelimit-limit-*, x-ratelimit-remaining-*, x-ratelimit-reset-* with suffix
///   "requests" and "tokens". Allowed responses carry the x-ratelimit-* headers too.
std::vector<header_field> response_headers(const decision& d);

/// Retry-After value: whole seconds, rounded up, at least 1.
std::string retry_after_seconds(clock::duration d);

/// A reset duration the way OpenAI writes it (Go's time.Duration format, millisecond precision):
/// "0s", "250ms", "1s", "1.5s", "6m0s", "1h2m3s".
std::string format_reset(clock::duration d);

}  // namespace modelgate::quota
