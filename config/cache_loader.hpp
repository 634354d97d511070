#pragma once
// Loaders for the response cache: top-level `cache:` and `routes[].cache`.

#include "config/yaml_reader.hpp"

namespace modelgate::config::detail {

/// Top-level `cache:`; `n` may be undefined (defaults).
cache_store read_cache_store(const reader& r, const YAML::Node& n);
/// `routes[i].cache`; `n` may be undefined (caching off).
route_cache read_route_cache(const reader& r, const YAML::Node& n, const std::string& where);

}  // namespace modelgate::config::detail
