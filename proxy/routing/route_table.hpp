#pragma once
// Maps a request to the first configured route that matches it. Immutable once built; pure.

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::proxy {

class route_table {
 public:
  explicit route_table(const std::vector<config::route>& routes);

  /// Index into the configured routes of the first match for `target` (path plus optional
  /// query), or nullopt. Thread-safe (const).
  std::optional<std::size_t> match(std::string_view target) const;

 private:
  std::vector<std::string> prefixes_;
};

}  // namespace modelgate::proxy
