#include "proxy/http/ip_connections.hpp"

#include "proxy/http/address_bytes.hpp"

#include <cstring>
#include <string_view>

namespace modelgate::proxy {

ip_connections::key ip_connections::key_of(const boost::asio::ip::address& a) { return v6_bytes(a); }

std::size_t ip_connections::key_hash::operator()(const key& k) const noexcept {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

std::optional<ip_connections::slot> ip_connections::try_add(
    const boost::asio::ip::address& address, std::size_t limit) {
  if (limit == 0) return slot{};
  const auto k = key_of(address);
  auto& s = shard_of(k);
  {
    std::lock_guard lock(s.mutex);
    auto& n = s.open[k];
    if (n >= limit) return std::nullopt;
    ++n;
  }
  return slot(this, k);
}

std::size_t ip_connections::count(const boost::asio::ip::address& address) {
  const auto k = key_of(address);
  auto& s = shard_of(k);
  std::lock_guard lock(s.mutex);
  auto it = s.open.find(k);
  return it == s.open.end() ? 0 : it->second;
}

void ip_connections::remove(const key& k) {
  auto& s = shard_of(k);
  std::lock_guard lock(s.mutex);
  auto it = s.open.find(k);
  if (it == s.open.end()) return;
  if (--it->second == 0) s.open.erase(it);
}

}  // namespace modelgate::proxy
