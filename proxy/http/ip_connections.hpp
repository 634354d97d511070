#pragma once
// Open downstream connections per client address, for `limits.max_connections_per_ip`: one client
// cannot take every connection slot (50 keyless slow clients held all of max_connections: 50).
// Thread-safe: every worker accepts into the same table; short critical sections in shards.

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace modelgate::proxy {

class ip_connections {
 public:
  using key = std::array<unsigned char, 16>;  // IPv4 as IPv4-mapped IPv6

  /// A counted connection; gives its count back when destroyed. Empty when nothing was counted.
  class slot {
   public:
    slot() = default;
    slot(slot&& o) noexcept : table_(o.table_), key_(o.key_) { o.table_ = nullptr; }
    slot& operator=(slot&&) = delete;
    ~slot() {
      if (table_) table_->remove(key_);
    }

   private:
    friend class ip_connections;
    slot(ip_connections* t, const key& k) : table_(t), key_(k) {}
    ip_connections* table_ = nullptr;
    key key_{};
  };

  /// Counts a connection from `address` unless it already has `limit` open (nullopt then).
  /// `limit` 0 counts nothing: an empty slot.
  std::optional<slot> try_add(const boost::asio::ip::address& address, std::size_t limit);

  /// Connections counted for `address` (tests, metrics).
  std::size_t count(const boost::asio::ip::address& address);

 private:
  struct key_hash {
    std::size_t operator()(const key& k) const noexcept;
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<key, std::size_t, key_hash> open;
  };

  static key key_of(const boost::asio::ip::address& a);
  shard& shard_of(const key& k) { return shards_[key_hash{}(k) % shards_.size()]; }
  void remove(const key& k);

  std::array<shard, 16> shards_;
};

}  // namespace modelgate::proxy
