#pragma once
// Tees a response into a cache_entry while it is relayed. Recording stops (the relay does not)
// when the entry would grow past its cap.

#include "proxy/cache/cache_entry.hpp"
#include "proxy/cache/cache_policy.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace modelgate::cache {

/// True for headers a stored response keeps: not hop-by-hop (connection, keep-alive,
/// transfer-encoding, te, trailer, upgrade, proxy-*), not per-response (content-length, age,
/// date is kept, x-request-id, x-cache), never set-cookie, x-ratelimit-* or retry-after
/// (another caller would receive them: a cookie, a quota state that is not theirs).
bool is_stored_header(std::string_view name);

/// One per response being recorded; used by one coroutine at a time (not thread-safe).
/// Call begin(), add_header() for each response header, append() for each body piece as it
/// is written to the client, then finish(). The cap bounds lru_store::charge_of() of the
/// result, so pass lru_store::max_entry_bytes() and a finished entry always fits the store.
class response_recorder {
 public:
  explicit response_recorder(std::size_t max_bytes);

  /// `expected_body`: Content-Length if known (reserved up to the cap), else 0.
  void begin(unsigned status, body_framing framing, std::size_t expected_body = 0);
  /// Keeps the header if is_stored_header(name); an `age` header sets initial_age instead.
  void add_header(std::string_view name, std::string_view value);
  /// One body piece, as relayed (one chunk for chunked replay). Empty pieces are ignored.
  void append(std::string_view piece);
  /// Stops recording and frees what was recorded (upstream error, client gone).
  void abort();

  /// False after abort(), after the cap was exceeded, and after finish().
  bool recording() const { return entry_ != nullptr; }
  /// True if recording stopped because the cap was exceeded.
  bool over_cap() const { return over_cap_; }
  /// lru_store::charge_of() of the entry so far.
  std::size_t bytes() const { return bytes_; }

  /// The recorded entry with route, stored_at = now and expires_at = now + ttl, or nullptr if
  /// recording stopped. The recorder is spent afterwards.
  std::shared_ptr<cache_entry> finish(std::string route, time_point now, duration ttl);

 private:
  bool charge(std::size_t n);

  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  bool over_cap_ = false;
  std::unique_ptr<cache_entry> entry_;
};

}  // namespace modelgate::cache
