#pragma once
// One stored response: status, the headers worth replaying, and the body with its original
// piece boundaries so a streamed (SSE/chunked) answer replays piece by piece.

#include "proxy/cache/cache_policy.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::cache {

/// How the body was framed towards the client when it was recorded.
enum class body_framing {
  content_length,  // replay with Content-Length: body.size()
  chunked,         // replay with Transfer-Encoding: chunked, one chunk per stored piece
};

struct header_field {
  std::string name;  // lowercase
  std::string value;
};

/// Immutable once inserted in the store: shared as std::shared_ptr<const cache_entry>, so a
/// hit streams it without copying while the store may evict it concurrently.
struct cache_entry {
  unsigned status = 200;
  body_framing framing = body_framing::content_length;
  std::vector<header_field> headers;  // end-to-end headers only (see response_recorder)
  std::string body;                   // all pieces, concatenated
  std::vector<std::size_t> piece_ends;  // piece i is body[piece_ends[i-1], piece_ends[i])
  std::string route;                  // route name, for purge_route
  time_point stored_at{};
  time_point expires_at{};
  std::chrono::seconds initial_age{0};  // the upstream's own Age header, if any

  std::size_t piece_count() const { return piece_ends.size(); }
  std::string_view piece(std::size_t i) const;

  bool expired(time_point now) const { return now >= expires_at; }
  /// Time since stored (0 if `now` is earlier), without initial_age.
  duration resident(time_point now) const;
  /// The `age` header value on a hit (RFC 9111 §5.1): whole seconds resident plus initial_age.
  std::chrono::seconds age(time_point now) const;

  /// Bytes this entry costs the store, besides its key: strings' contents and fixed overheads
  /// (an estimate of allocator and container bookkeeping, so many tiny entries stay bounded too).
  std::size_t charge() const;
};

/// Fixed cost per stored entry on top of charge(): key, LRU node, hash-table slot, control block.
inline constexpr std::size_t entry_overhead_bytes = 192;

}  // namespace modelgate::cache
