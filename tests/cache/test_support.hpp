#pragma once
// Helpers shared by the cache tests: keys by number, entries of a given size, a manual clock.

#include "proxy/cache/cache_entry.hpp"
#include "proxy/cache/cache_key.hpp"

#include <memory>
#include <string>

namespace modelgate::cache::test {

/// A time point the tests move by hand.
inline const time_point t0 = time_point{} + std::chrono::hours(1000);

/// A distinct key per number (real digests, so shards spread as in production).
inline cache_key key_of(int i) {
  auto path = std::to_string(i);
  key_input in;
  in.path = path;
  return make_key(in);
}

/// An entry with a `body_bytes` body in one piece, stored at `at`, living `ttl`.
inline std::shared_ptr<cache_entry> make_entry(std::size_t body_bytes, std::string route = "r",
                                               time_point at = t0,
                                               duration ttl = std::chrono::seconds(60)) {
  auto e = std::make_shared<cache_entry>();
  e->body.assign(body_bytes, 'x');
  if (body_bytes) e->piece_ends.push_back(body_bytes);
  e->route = std::move(route);
  e->stored_at = at;
  e->expires_at = at + ttl;
  return e;
}

}  // namespace modelgate::cache::test
