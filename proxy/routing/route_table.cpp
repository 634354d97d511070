#include "proxy/routing/route_table.hpp"

namespace modelgate::proxy {

route_table::route_table(const std::vector<config::route>& routes) {
  prefixes_.reserve(routes.size());
  for (const auto& r : routes) prefixes_.push_back(r.path_prefix);
}

std::optional<std::size_t> route_table::match(std::string_view target) const {
  auto path = target.substr(0, target.find_first_of("?#"));
  for (std::size_t i = 0; i < prefixes_.size(); ++i) {
    if (path.starts_with(prefixes_[i])) return i;
  }
  return std::nullopt;
}

}  // namespace modelgate::proxy
