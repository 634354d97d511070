#include "config/cache_loader.hpp"

#include <algorithm>
#include <cctype>

namespace modelgate::config::detail {
namespace {

// RFC 9110 token characters: what a header name may contain.
bool is_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
  });
}

cache_redis read_redis(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"address", "prefix", "timeout"});
  cache_redis c;
  auto a = r.address(n, where, false);
  c.host = a.host;
  c.port = a.port;
  c.prefix = r.string(n, "prefix", where, c.prefix);
  if (c.prefix.empty()) r.fail(n["prefix"], where + ".prefix", "must not be empty");
  c.timeout = r.dur(n, "timeout", where, c.timeout);
  return c;
}

}  // namespace

cache_store read_cache_store(const reader& r, const YAML::Node& n) {
  cache_store c;
  if (!n) return c;
  const std::string w = "cache";
  r.expect_map(n, w,
               {"max_bytes", "default_ttl", "shards", "max_entry_divisor", "coalesce_timeout",
                "redis"});
  c.max_bytes = r.size(n, "max_bytes", w, c.max_bytes);
  if (c.max_bytes < 16 * 1024) r.fail(n["max_bytes"], w + ".max_bytes", "must be at least 16KiB");
  c.default_ttl = r.dur(n, "default_ttl", w, c.default_ttl);
  c.shards = r.integer<std::size_t>(n, "shards", w, c.shards, 1, 1024);
  c.max_entry_divisor = r.integer<std::size_t>(n, "max_entry_divisor", w, c.max_entry_divisor, 1, 1024);
  c.coalesce_timeout = r.dur(n, "coalesce_timeout", w, c.coalesce_timeout);
  if (auto redis = n["redis"]) c.redis = read_redis(r, redis, w + ".redis");
  return c;
}

route_cache read_route_cache(const reader& r, const YAML::Node& n, const std::string& where) {
  route_cache c;
  if (!n) return c;
  r.expect_map(n, where, {"enabled", "ttl", "shared", "always", "vary", "ignore_stream_no_cache"});
  // Writing a `cache:` map on a route turns caching on unless it says `enabled: false`.
  c.enabled = r.boolean(n, "enabled", where, true);
  if (n["ttl"]) c.ttl = r.dur(n, "ttl", where, {});
  c.shared = r.boolean(n, "shared", where, false);
  c.always = r.boolean(n, "always", where, false);
  c.ignore_stream_no_cache = r.boolean(n, "ignore_stream_no_cache", where, false);
  c.vary = r.strings(n, "vary", where);
  for (std::size_t i = 0; i < c.vary.size(); ++i) {
    auto& name = c.vary[i];
    auto key = where + ".vary";
    if (!is_token(name) || name == "*")
      r.fail(n["vary"], key, "'" + name + "' is not a header name");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (std::count(c.vary.begin(), c.vary.begin() + static_cast<std::ptrdiff_t>(i), name) > 0)
      r.fail(n["vary"], key, "header '" + name + "' is listed twice");
  }
  return c;
}

}  // namespace modelgate::config::detail
