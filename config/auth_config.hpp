#pragma once
// Config structs for API keys, per-key quotas, the quota store and network allow-lists
// (`auth`, `quota_store`, `listeners[].allow_cidrs`, `routes[].public`). Loaded by
// config/auth_loader.cpp; every value here has passed validation.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace modelgate::config {

/// `auth.keys[].quota`; 0 means "no limit" for each field.
struct key_quota {
  double requests_per_second = 0;
  std::uint64_t burst = 0;  // 0: max(1, ceil(requests_per_second))
  std::uint32_t max_concurrent = 0;
  std::uint64_t tokens_per_minute = 0;

  bool operator==(const key_quota&) const = default;
};

/// `auth.keys[]`: the key itself is never in the config, only its SHA-256.
struct api_key_entry {
  std::string id;
  std::array<unsigned char, 32> sha256{};
  std::vector<std::string> routes;  // "/prefix" entries or model names; empty: all
  key_quota quota;

  bool operator==(const api_key_entry&) const = default;
};

struct auth_settings {
  std::vector<api_key_entry> keys;              // empty: no authentication anywhere
  std::uint64_t default_token_estimate = 1024;  // reserved when a request has no max_tokens
  bool enabled() const noexcept { return !keys.empty(); }

  bool operator==(const auth_settings&) const = default;
};

struct quota_store_settings {
  enum class store { local, redis };
  enum class on_failure { allow, deny };
  store kind = store::local;
  std::string host;  // redis
  std::uint16_t port = 6379;
  on_failure on_error = on_failure::allow;
  std::chrono::milliseconds timeout{50};
  std::size_t pool_size = 4;
  std::chrono::milliseconds reconnect_backoff{250};
  std::string key_prefix = "modelgate:quota";

  bool operator==(const quota_store_settings&) const = default;
};

/// One `allow_cidrs` entry. IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d, prefix + 96), so
/// one comparison covers both families.
struct cidr {
  std::array<unsigned char, 16> address{};
  unsigned prefix = 128;
  std::string text;  // as written, for messages

  bool operator==(const cidr&) const = default;
};

/// "10.0.0.0/8", "192.168.1.7" (a /32), "fd00::/8", "::1". Throws std::invalid_argument.
cidr parse_cidr(std::string_view text);

/// True when the 16-byte (IPv6 or IPv4-mapped) address is inside `c`. Pure.
bool cidr_contains(const cidr& c, const std::array<unsigned char, 16>& address) noexcept;

}  // namespace modelgate::config
