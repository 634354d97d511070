#pragma once
// API keys: where a request presents one, how it is hashed, and the immutable table that maps a
// presented key to its id, limits and allowed routes. Keys are stored only as SHA-256 digests.
// Pure (no clock, no I/O).

#include "proxy/quota/quota_limits.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modelgate::quota {

using sha256_digest = std::array<unsigned char, 32>;

/// SHA-256 of `raw`.
sha256_digest sha256(std::string_view raw);

/// Lower-case hex SHA-256 of a raw key: what `modelgate hash-key KEY` prints and what
/// `auth.keys[].sha256` holds.
std::string hash_key(std::string_view raw);

/// Parses 64 hex digits (either case). nullopt for any other length or a non-hex character.
std::optional<sha256_digest> parse_sha256_hex(std::string_view hex);

/// The key a request presents: `Authorization: Bearer <key>` (scheme case-insensitive, spaces
/// around the key trimmed) or else `x-api-key: <key>`. Pass the header values ("" when absent).
/// nullopt when neither carries a non-empty key; an Authorization header with another scheme
/// (Basic ...) falls through to x-api-key.
std::optional<std::string_view> extract_api_key(std::string_view authorization,
                                                std::string_view x_api_key) noexcept;

/// One configured key (`auth.keys[]`).
struct api_key {
  std::string id;                   // shown in logs and metrics; never the key itself
  sha256_digest digest{};           // from `sha256`
  std::vector<std::string> routes;  // allow-list: "/prefix" entries or model names; empty = all
  quota_limits quota;
};

/// True when `key` may call a request with this path (target without the query is fine, a query
/// is ignored) and, if known, this model. An entry starting with '/' is a path prefix; any other
/// entry is a model name compared exactly. An empty allow-list allows everything.
bool route_allowed(const api_key& key, std::string_view target,
                   std::optional<std::string_view> model) noexcept;

/// Immutable after construction; share it through a snapshot and look up from any thread.
class key_table {
 public:
  key_table() = default;
  /// Throws std::invalid_argument on a duplicate id or digest (names the id).
  explicit key_table(std::vector<api_key> keys);

  /// The entry whose digest equals SHA-256(raw_key), or nullptr. The final comparison is over
  /// the full 32 bytes with CRYPTO_memcmp (constant time); the index in front of it looks only at
  /// the presented key's own digest, so timing reveals nothing about stored digests.
  const api_key* find(std::string_view raw_key) const;

  /// The same, for a digest computed by the caller.
  const api_key* find_digest(const sha256_digest& digest) const;

  /// By id (for reconciling after the response, config reload), or nullptr.
  const api_key* find_id(std::string_view id) const;

  std::size_t size() const noexcept { return keys_.size(); }
  bool empty() const noexcept { return keys_.empty(); }
  const std::vector<api_key>& keys() const noexcept { return keys_; }

 private:
  std::vector<api_key> keys_;
  // First 8 digest bytes → indices into keys_ (a prefix shared by two keys is allowed).
  std::unordered_multimap<std::uint64_t, std::size_t> by_prefix_;
};

}  // namespace modelgate::quota
