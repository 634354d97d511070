#include "proxy/health/dns_slots.hpp"

#include <algorithm>

namespace modelgate::proxy {

std::vector<std::string> preferred_addresses(std::vector<std::string> resolved) {
  auto is_v6 = [](const std::string& a) { return a.find(':') != std::string::npos; };
  if (std::any_of(resolved.begin(), resolved.end(), [&](const auto& a) { return !is_v6(a); }))
    std::erase_if(resolved, is_v6);
  std::sort(resolved.begin(), resolved.end());
  resolved.erase(std::unique(resolved.begin(), resolved.end()), resolved.end());
  return resolved;
}

std::vector<std::string> assign_slots(const std::vector<std::string>& current,
                                      const std::vector<std::string>& addresses) {
  auto listed = [&](const std::string& a) {
    return std::find(addresses.begin(), addresses.end(), a) != addresses.end();
  };
  std::vector<std::string> next(current.size());
  for (std::size_t s = 0; s < current.size(); ++s)
    if (!current[s].empty() && listed(current[s])) next[s] = current[s];
  std::size_t free = 0;
  for (const auto& a : addresses) {
    if (std::find(next.begin(), next.end(), a) != next.end()) continue;
    while (free < next.size() && !next[free].empty()) ++free;
    if (free == next.size()) break;
    next[free] = a;
  }
  return next;
}

}  // namespace modelgate::proxy
