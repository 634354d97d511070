#include "proxy/routing/route_table.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>

namespace modelgate::proxy {

route_table::route_table(const std::vector<config::route>& routes) : routes_(routes) {
  needs_model_ = std::any_of(routes_.begin(), routes_.end(),
                             [](const config::route& r) { return !r.models.empty(); });
}

std::optional<std::size_t> route_table::match(const route_input& in) const {
  auto path = in.target.substr(0, in.target.find_first_of("?#"));
  auto host = in.host;
  // Strip a port: "name:8443" → "name", "[::1]:8443" → "[::1]" (an IPv6 literal keeps its colons).
  if (host.starts_with('[')) {
    if (auto close = host.find(']'); close != std::string_view::npos) host = host.substr(0, close + 1);
  } else if (auto colon = host.rfind(':'); colon != std::string_view::npos) {
    host = host.substr(0, colon);
  }
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const auto& r = routes_[i];
    if (!path.starts_with(r.path_prefix)) continue;
    if (!r.path.empty() && path != r.path) continue;
    if (!r.host.empty() && !boost::beast::iequals(host, r.host)) continue;
    if (r.header) {
      if (!in.headers) continue;
      auto it = in.headers->find(r.header->name);
      if (it == in.headers->end()) continue;
      if (!r.header->value.empty() && it->value() != r.header->value) continue;
    }
    if (!r.models.empty()) {
      if (!in.model) continue;
      if (std::find(r.models.begin(), r.models.end(), *in.model) == r.models.end()) continue;
    }
    return i;
  }
  return std::nullopt;
}

}  // namespace modelgate::proxy
