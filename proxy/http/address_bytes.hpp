#pragma once
// A client address in the form config::cidr holds (16 bytes, IPv4 as IPv4-mapped IPv6
// ::ffff:a.b.c.d), and membership in a CIDR list: allow_cidrs, trusted_proxies, per-address
// connection counts.

#include "config/auth_config.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace modelgate::proxy {

inline std::array<unsigned char, 16> v6_bytes(const boost::asio::ip::address& a) {
  if (a.is_v4()) return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4()).to_bytes();
  return a.to_v6().to_bytes();
}

inline bool in_cidrs(const std::vector<config::cidr>& list, const boost::asio::ip::address& a) {
  const auto bytes = v6_bytes(a);
  return std::any_of(list.begin(), list.end(),
                     [&](const config::cidr& c) { return config::cidr_contains(c, bytes); });
}

}  // namespace modelgate::proxy
