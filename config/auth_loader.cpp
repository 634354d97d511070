#include "config/auth_loader.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <set>

namespace modelgate::config {

cidr parse_cidr(std::string_view text) {
  cidr c;
  c.text = std::string(text);
  auto slash = text.find('/');
  std::string host(text.substr(0, slash));
  unsigned max_prefix = 128;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    c.address[10] = c.address[11] = 0xff;
    std::memcpy(c.address.data() + 12, &v4, 4);
    max_prefix = 32;
  } else if (::inet_pton(AF_INET6, host.c_str(), c.address.data()) != 1) {
    throw std::invalid_argument("expected an address or CIDR like 10.0.0.0/8 or fd00::/8, got '" +
                                c.text + "'");
  }
  unsigned prefix = max_prefix;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
        prefix > max_prefix)
      throw std::invalid_argument("bad prefix length in '" + c.text + "' (0.." +
                                  std::to_string(max_prefix) + ")");
  }
  c.prefix = prefix + (128 - max_prefix);
  // Host bits set below the prefix are a typo more often than not (10.1.2.3/8).
  for (unsigned bit = c.prefix; bit < 128; ++bit)
    if (c.address[bit / 8] & (0x80 >> (bit % 8)))
      throw std::invalid_argument("'" + c.text + "' has host bits set after the prefix");
  return c;
}

bool cidr_contains(const cidr& c, const std::array<unsigned char, 16>& address) noexcept {
  unsigned full = c.prefix / 8;
  for (unsigned i = 0; i < full; ++i)
    if (address[i] != c.address[i]) return false;
  if (unsigned rest = c.prefix % 8) {
    unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
    if ((address[full] & mask) != (c.address[full] & mask)) return false;
  }
  return true;
}

namespace detail {
namespace {

std::optional<std::array<unsigned char, 32>> parse_hex32(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<unsigned char, 32> out{};
  auto nibble = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return out;
}

key_quota read_key_quota(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"requests_per_second", "burst", "max_concurrent", "tokens_per_minute"});
  key_quota q;
  q.requests_per_second = r.real(n, "requests_per_second", where, 0, 0, 1e9);
  if (n["requests_per_second"] && q.requests_per_second <= 0)
    r.fail(n["requests_per_second"], where + ".requests_per_second", "must be greater than zero");
  if (n["burst"] && !n["requests_per_second"])
    r.fail(n["burst"], where + ".burst", "burst needs requests_per_second");
  q.burst = r.integer<std::uint64_t>(n, "burst", where, 0, 1, 1'000'000'000);
  q.max_concurrent = r.integer<std::uint32_t>(n, "max_concurrent", where, 0, 1, 1'000'000);
  q.tokens_per_minute =
      r.integer<std::uint64_t>(n, "tokens_per_minute", where, 0, 1, 1'000'000'000'000);
  return q;
}

api_key_entry read_key(const reader& r, const YAML::Node& n, const std::string& where) {
  r.expect_map(n, where, {"id", "sha256", "routes", "quota"});
  api_key_entry k;
  k.id = r.string(n, "id", where);
  if (k.id.empty()) r.fail(n["id"], where + ".id", "must not be empty");
  for (char ch : k.id)
    if (static_cast<unsigned char>(ch) < 0x20 || ch == '"' || ch == '\\' || ch == 0x7f)
      r.fail(n["id"], where + ".id", "may not contain quotes, backslashes or control characters");
  auto hex = r.string(n, "sha256", where);
  auto digest = parse_hex32(hex);
  // Never echo the value: it may be a raw key pasted by mistake.
  if (!digest)
    r.fail(n["sha256"], where + ".sha256",
           "expected 64 hex digits (the output of `modelgate hash-key KEY`, never the key itself)");
  k.sha256 = *digest;
  k.routes = r.strings(n, "routes", where);
  for (std::size_t i = 0; i < k.routes.size(); ++i)
    if (k.routes[i].empty())
      r.fail(n["routes"], where + ".routes[" + std::to_string(i) + "]", "must not be empty");
  if (auto q = n["quota"]) k.quota = read_key_quota(r, q, where + ".quota");
  return k;
}

}  // namespace

auth_settings read_auth(const reader& r, const YAML::Node& n) {
  auth_settings a;
  if (!n) return a;
  r.expect_map(n, "auth", {"keys", "default_token_estimate"});
  a.default_token_estimate = r.integer<std::uint64_t>(n, "default_token_estimate", "auth",
                                                      a.default_token_estimate, 0, 100'000'000);
  auto keys = n["keys"];
  if (!keys) r.fail(n, "auth.keys", "missing required key");
  if (!keys.IsSequence() || keys.size() == 0)
    r.fail(keys, "auth.keys", "expected a non-empty list of keys");
  std::set<std::string> ids;
  std::set<std::array<unsigned char, 32>> digests;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto where = "auth.keys[" + std::to_string(i) + "]";
    a.keys.push_back(read_key(r, keys[i], where));
    if (!ids.insert(a.keys.back().id).second)
      r.fail(keys[i]["id"], where + ".id", "duplicate key id '" + a.keys.back().id + "'");
    if (!digests.insert(a.keys.back().sha256).second)
      r.fail(keys[i]["sha256"], where + ".sha256", "the same sha256 as an earlier key");
  }
  return a;
}

quota_store_settings read_quota_store(const reader& r, const YAML::Node& n) {
  quota_store_settings s;
  if (!n) return s;
  const std::string w = "quota_store";
  r.expect_map(
      n, w,
      {"kind", "address", "on_error", "timeout", "pool_size", "reconnect_backoff", "key_prefix"});
  auto kind = r.string(n, "kind", w, "local");
  if (kind == "local")
    s.kind = quota_store_settings::store::local;
  else if (kind == "redis")
    s.kind = quota_store_settings::store::redis;
  else
    r.fail(n["kind"], w + ".kind", "expected local or redis, got '" + kind + "'");
  if (s.kind == quota_store_settings::store::redis) {
    auto a = r.address(n, w, false);
    s.host = a.host;
    s.port = a.port;
  } else if (n["address"]) {
    r.fail(n["address"], w + ".address", "only used with kind: redis");
  }
  auto on_error = r.string(n, "on_error", w, "allow");
  if (on_error == "allow")
    s.on_error = quota_store_settings::on_failure::allow;
  else if (on_error == "deny")
    s.on_error = quota_store_settings::on_failure::deny;
  else
    r.fail(n["on_error"], w + ".on_error", "expected allow or deny, got '" + on_error + "'");
  s.timeout = r.dur(n, "timeout", w, s.timeout);
  s.pool_size = r.integer<std::size_t>(n, "pool_size", w, s.pool_size, 1, 256);
  s.reconnect_backoff = r.dur(n, "reconnect_backoff", w, s.reconnect_backoff);
  s.key_prefix = r.string(n, "key_prefix", w, s.key_prefix);
  if (s.key_prefix.empty()) r.fail(n["key_prefix"], w + ".key_prefix", "must not be empty");
  return s;
}

std::vector<cidr> read_cidr_list(const reader& r, const YAML::Node& node, const std::string& key) {
  std::vector<cidr> out;
  if (!node) return out;
  if (!node.IsSequence() || node.size() == 0)
    r.fail(node, key, "expected a non-empty list like [10.0.0.0/8, 127.0.0.1]");
  for (std::size_t i = 0; i < node.size(); ++i) {
    auto k = key + "[" + std::to_string(i) + "]";
    try {
      out.push_back(parse_cidr(r.scalar(node[i], k)));
    } catch (const std::invalid_argument& e) {
      r.fail(node[i], k, e.what());
    }
  }
  return out;
}

std::vector<cidr> read_allow_cidrs(const reader& r, const YAML::Node& listener,
                                   const std::string& where) {
  return read_cidr_list(r, listener["allow_cidrs"], where + ".allow_cidrs");
}

}  // namespace detail
}  // namespace modelgate::config
