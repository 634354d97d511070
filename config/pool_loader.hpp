#pragma once
// Loaders for `pools` and `routes` (balancing, health, retries, route matchers).

#include "config/yaml_reader.hpp"

namespace modelgate::config::detail {

pool read_pool(const reader& r, const YAML::Node& n, const std::string& where);
route read_route(const reader& r, const YAML::Node& n, const std::string& where,
                 const std::vector<pool>& pools);

}  // namespace modelgate::config::detail
