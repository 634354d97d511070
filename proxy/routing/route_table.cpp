#include "proxy/routing/route_table.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <utility>

namespace modelgate::proxy {

route_table::route_table(const std::vector<config::route>& routes) : routes_(routes) {
  needs_model_ = std::any_of(routes_.begin(), routes_.end(),
                             [](const config::route& r) { return !r.models.empty(); });
}

namespace {

// The path without query, and the Host without a port: "name:8443" → "name", "[::1]:8443" →
// "[::1]" (an IPv6 literal keeps its colons).
std::pair<std::string_view, std::string_view> path_and_host(const route_input& in) {
  auto path = in.target.substr(0, in.target.find_first_of("?#"));
  auto host = in.host;
  if (host.starts_with('[')) {
    if (auto close = host.find(']'); close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  return {path, host};
}

bool matches(const config::route& r, std::string_view path, std::string_view host,
             const route_input& in, bool ignore_model) {
  if (!path.starts_with(r.path_prefix)) return false;
  if (!r.path.empty() && path != r.path) return false;
  if (!r.host.empty() && !boost::beast::iequals(host, r.host)) return false;
  if (r.header) {
    if (!in.headers) return false;
    auto it = in.headers->find(r.header->name);
    if (it == in.headers->end()) return false;
    if (!r.header->value.empty() && it->value() != r.header->value) return false;
  }
  if (!r.models.empty() && !ignore_model) {
    if (!in.model) return false;
    if (std::find(r.models.begin(), r.models.end(), *in.model) == r.models.end()) return false;
  }
  return true;
}

}  // namespace

std::optional<std::size_t> route_table::match(const route_input& in) const {
  const auto [path, host] = path_and_host(in);
  for (std::size_t i = 0; i < routes_.size(); ++i)
    if (matches(routes_[i], path, host, in, false)) return i;
  return std::nullopt;
}

bool route_table::may_match_public(const route_input& in) const {
  const auto [path, host] = path_and_host(in);
  for (const auto& r : routes_)
    if (r.is_public && matches(r, path, host, in, true)) return true;
  return false;
}

}  // namespace modelgate::proxy
