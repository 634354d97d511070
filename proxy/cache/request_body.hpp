#pragma once
// A request body as the cache sees it: the raw bytes and, when they are JSON, the parsed value.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace modelgate::cache {

/// Parsed once per request and shared by the key and the cacheability decision.
/// Holds a view of the raw bytes: the caller keeps them alive. Not thread-safe to mutate;
/// const access from several threads is fine.
class request_body {
 public:
  /// Tries to parse `raw` as one JSON text; a body that is not JSON (or is empty, or has a number
  /// out of double range) is kept as bytes.
  static request_body parse(std::string_view raw);

  std::string_view raw() const { return raw_; }
  /// The parsed JSON value, or nullptr when the body is not JSON.
  const boost::json::value* json() const { return json_ ? &*json_ : nullptr; }
  /// The JSON object, or nullptr when the body is not a JSON object.
  const boost::json::object* object() const;

 private:
  std::string_view raw_;
  std::optional<boost::json::value> json_;
};

/// Canonical JSON text: object members sorted by key (byte order, recursively), no whitespace,
/// strings re-escaped by Boost.JSON's serializer, numbers as Boost.JSON prints them (so `1` and
/// `1.0` differ: a miss, never a wrong hit). `{"b":2, "a":1}` → `{"a":1,"b":2}`.
std::string canonical_json(const boost::json::value& v);

/// Appends canonical_json(v) to `out`.
void append_canonical_json(const boost::json::value& v, std::string& out);

}  // namespace modelgate::cache
