#pragma once
// Cache-Control directives (RFC 9111 §5.2) that the response cache acts on.

#include <chrono>
#include <optional>
#include <string_view>

namespace modelgate::cache {

/// The directives of one Cache-Control value (several header lines joined with ", ").
/// Unknown directives are ignored. A max-age that is not a non-negative integer counts as 0
/// (RFC 9111 §4.2.1: an invalid freshness lifetime means stale).
struct cache_control {
  bool no_store = false;
  bool no_cache = false;  // also `no-cache="field"`: treated as the whole response
  bool private_ = false;
  bool public_ = false;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
};

/// Parses a Cache-Control header value; pure, never throws.
cache_control parse_cache_control(std::string_view value);

}  // namespace modelgate::cache
