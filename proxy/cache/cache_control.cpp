#include "proxy/cache/cache_control.hpp"

#include <algorithm>
#include <cstdint>

namespace modelgate::cache {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Delta-seconds (RFC 9111 §1.2.2): digits only; values past 2^31 saturate instead of failing.
std::chrono::seconds delta_seconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  constexpr std::uint64_t cap = 2147483648ULL;
  if (v.empty()) return std::chrono::seconds(0);
  std::uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::chrono::seconds(0);
    n = std::min<std::uint64_t>(cap, n * 10 + static_cast<std::uint64_t>(c - '0'));
  }
  return std::chrono::seconds(static_cast<std::int64_t>(n));
}

}  // namespace

cache_control parse_cache_control(std::string_view value) {
  cache_control cc;
  while (!value.empty()) {
    // A quoted argument may contain commas (`no-cache="a, b"`): split outside quotes only.
    std::size_t end = 0;
    bool quoted = false;
    for (; end < value.size(); ++end) {
      if (value[end] == '"') quoted = !quoted;
      else if (value[end] == ',' && !quoted) break;
    }
    auto item = trim(value.substr(0, end));
    value.remove_prefix(std::min(end + 1, value.size()));
    if (item.empty()) continue;

    auto eq = item.find('=');
    auto name = trim(item.substr(0, eq));
    auto arg = eq == std::string_view::npos ? std::string_view() : trim(item.substr(eq + 1));
    if (iequals(name, "no-store")) cc.no_store = true;
    else if (iequals(name, "no-cache")) cc.no_cache = true;
    else if (iequals(name, "private")) cc.private_ = true;
    else if (iequals(name, "public")) cc.public_ = true;
    else if (iequals(name, "max-age")) {
      auto s = delta_seconds(arg);
      // Several max-age directives: the most restrictive wins.
      cc.max_age = cc.max_age ? std::min(*cc.max_age, s) : s;
    } else if (iequals(name, "s-maxage")) {
      auto s = delta_seconds(arg);
      cc.s_maxage = cc.s_maxage ? std::min(*cc.s_maxage, s) : s;
    }
  }
  return cc;
}

}  // namespace modelgate::cache
