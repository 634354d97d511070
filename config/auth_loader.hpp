#pragma once
// Loaders for `auth`, `quota_store` and `listeners[].allow_cidrs` (see docs/config.md).

#include "config/yaml_reader.hpp"

namespace modelgate::config::detail {

/// `auth` (absent node: authentication off).
auth_settings read_auth(const reader& r, const YAML::Node& n);
/// `quota_store` (absent node: kind local).
quota_store_settings read_quota_store(const reader& r, const YAML::Node& n);
/// A list of CIDRs at `key` (absent: empty; present but empty or invalid: a config error).
std::vector<cidr> read_cidr_list(const reader& r, const YAML::Node& node, const std::string& key);

/// `<where>.allow_cidrs` of a listener: a list of CIDRs (absent: everyone).
std::vector<cidr> read_allow_cidrs(const reader& r, const YAML::Node& listener,
                                   const std::string& where);

}  // namespace modelgate::config::detail
