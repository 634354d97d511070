#pragma once
// The exact-match cache key: a SHA-256 digest over a canonical, length-prefixed encoding of
// everything that makes two requests the same request.

#include "proxy/cache/cache_policy.hpp"
#include "proxy/cache/request_body.hpp"

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace modelgate::cache {

/// A 256-bit key. Value type; equal digests mean the same request (SHA-256: no collisions in
/// practice, so the store keeps only the digest, never the pre-image).
class cache_key {
 public:
  static constexpr std::size_t size = 32;
  using digest_type = std::array<std::uint8_t, size>;

  cache_key() = default;
  explicit cache_key(const digest_type& d) : digest_(d) {}

  const digest_type& digest() const { return digest_; }
  std::span<const std::uint8_t, size> bytes() const { return digest_; }
  /// Lowercase hex, 64 characters (for logs, and as the Redis key suffix).
  std::string hex() const;
  /// The first 8 bytes, for hash tables and shard choice.
  std::uint64_t prefix64() const {
    std::uint64_t v;
    std::memcpy(&v, digest_.data(), sizeof v);
    return v;
  }

  friend bool operator==(const cache_key&, const cache_key&) = default;
  friend auto operator<=>(const cache_key&, const cache_key&) = default;

 private:
  digest_type digest_{};
};

/// A request header named in the route's `vary` list, with the request's value (several
/// lines joined with ", " by the caller). `value` is nullopt when the request lacks the header.
struct vary_value {
  std::string_view name;
  std::optional<std::string_view> value;
};

/// A route as the key sees it: what it matches and where it sends what it matched. Two routes
/// with equal identities forward equal requests to the same pools, so they may share entries;
/// anything else keeps them apart, across reloads and across proxies sharing the Redis tier
/// (which a route name or a position in the file would not: names repeat, files differ).
struct route_identity {
  std::string_view path_prefix;
  std::string_view path;
  std::string_view host;  // compared case-insensitively
  std::optional<std::string_view> header_name;  // nullopt: no header condition
  std::string_view header_value;                // "": the header's presence is enough
  std::span<const std::string> models;          // any order
  std::string_view pool;
  std::string_view fallback;  // "": none
};

/// The bytes key_input::route is made of: each part as a tag byte, a 64-bit length and the
/// bytes; host and header name lowercased, models sorted. Pure.
std::string encode_route_identity(const route_identity& id);

/// Everything the key is made of, as views into the request (the caller keeps them alive).
struct key_input {
  std::string_view method;      // "POST"
  std::string_view route;       // encode_route_identity() of the matched route (not its name)
  std::string_view host;        // the request's Host (the key holds it lowercased, port-less)
  std::string_view path;        // target without the query
  std::string_view query;       // after '?', as sent (not reordered)
  const request_body* body = nullptr;  // nullptr: empty body
  std::span<const vary_value> vary;    // one per configured vary header, any order
  std::string_view api_key_id;  // empty: anonymous
  key_scope scope = key_scope::per_api_key;
};

/// The key's pre-image: a version tag, then each field as a tag byte, a 64-bit length and
/// the bytes. The host is lowercased and loses its port; header names are lowercased and
/// sorted; a JSON body is canonical_json(), other bodies are their bytes. With
/// key_scope::shared the API key id is left out.
/// Exposed for tests and debugging; make_key() hashes the same bytes without keeping them.
std::string key_material(const key_input& in);

/// SHA-256 of key_material(in). Pure; thread-safe.
cache_key make_key(const key_input& in);

/// Splits a request target into path and query ("/a?b=1" → {"/a", "b=1"}).
std::pair<std::string_view, std::string_view> split_target(std::string_view target);

}  // namespace modelgate::cache

template <>
struct std::hash<modelgate::cache::cache_key> {
  std::size_t operator()(const modelgate::cache::cache_key& k) const noexcept {
    return static_cast<std::size_t>(k.prefix64());
  }
};
