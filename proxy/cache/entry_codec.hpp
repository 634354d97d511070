#pragma once
// A byte encoding of cache_entry for a shared tier (Redis): versioned, length-prefixed, and
// decoded defensively, since the bytes come from outside the process.

#include "proxy/cache/cache_entry.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace modelgate::cache {

/// Encodes `e` as seen at `now`. steady_clock times mean nothing in another process, so the
/// encoding carries the age (e.age(now)) and the time left to live instead of time points.
/// Precondition: !e.expired(now).
std::string encode_entry(const cache_entry& e, time_point now);

/// Decodes bytes from encode_entry(), possibly written by another process: stored_at = now,
/// initial_age = the encoded age, expires_at = now + the encoded time left. Returns nullptr on
/// any malformed, truncated, trailing or foreign-version input, or when the entry would cost the
/// store more than `max_charge` bytes (checked before allocating the body). Never throws on bad
/// input.
std::shared_ptr<cache_entry> decode_entry(std::string_view bytes, time_point now,
                                          std::size_t max_charge);

}  // namespace modelgate::cache
