#pragma once
// Per-key limiter state in this process: request rate (GCRA), tokens per minute (GCRA over
// tokens, with reservations) and in-flight count. Sharded by key id; each check holds one shard's
// mutex for a few arithmetic operations. Time is a parameter.

#include "proxy/quota/concurrency_limiter.hpp"
#include "proxy/quota/decision.hpp"
#include "proxy/quota/gcra.hpp"
#include "proxy/quota/quota_limits.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace modelgate::quota {

/// GCRA parameters of a key's limits.
gcra_limit request_limit(const quota_limits& q);
gcra_limit token_limit(const quota_limits& q);

/// The outcome of local_store::admit. On admission the caller keeps `permit` until the response
/// is finished (or the client is gone) and later reconciles `reserved_tokens`.
struct admission {
  decision verdict;
  concurrency_permit permit;         // empty unless admitted
  std::uint64_t reserved_tokens = 0;  // what was charged to the token budget (0 without a limit)
};

/// Thread-safe. Holds state for every key id it has seen (ids come from config, so the set is
/// bounded); forget() drops a key removed on reload.
class local_store {
 public:
  local_store() = default;
  local_store(const local_store&) = delete;
  local_store& operator=(const local_store&) = delete;

  /// Concurrency first (a permit), then rate and tokens together: either both are taken or
  /// neither, so a request refused for tokens does not spend a request slot. The reason reported
  /// is the first limit that refuses, in the order concurrency, rate, tokens; retry_after is the
  /// longest wait among the refusing rate/token limits (1 s for concurrency, which has no clock).
  admission admit(std::string_view key_id, const quota_limits& limits,
                  std::uint64_t token_estimate, clock::time_point now);

  /// Rate and tokens only (no permit): the fallback when a shared store fails, or the check a
  /// caller makes when concurrency is handled separately.
  decision check_rate_and_tokens(std::string_view key_id, const quota_limits& limits,
                                 std::uint64_t token_estimate, clock::time_point now);

  /// Just the in-flight slot. nullopt when the key is at max_concurrent.
  std::optional<concurrency_permit> acquire_concurrency(std::string_view key_id,
                                                        const quota_limits& limits);

  /// Settles a reservation with the real count: refunds reserved - actual, or charges
  /// actual - reserved (the budget may go negative; later requests wait). Returns the token
  /// status afterwards (nullopt without a token limit).
  std::optional<limit_status> reconcile(std::string_view key_id, const quota_limits& limits,
                                        std::uint64_t reserved, std::uint64_t actual,
                                        clock::time_point now);

  /// Current state without taking anything (for headers on paths that skip admission).
  decision peek(std::string_view key_id, const quota_limits& limits, clock::time_point now);

  std::uint32_t in_flight(std::string_view key_id);
  void forget(std::string_view key_id);
  std::size_t size();

 private:
  struct key_state {
    gcra requests;
    gcra tokens;
    std::shared_ptr<concurrency_gate> gate = std::make_shared<concurrency_gate>();
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct shard {
    std::mutex mutex;
    std::unordered_map<std::string, key_state, string_hash, std::equal_to<>> keys;
  };
  static constexpr std::size_t shard_count = 16;

  shard& shard_for(std::string_view key_id);
  // Requires the shard's mutex.
  static key_state& state_in(shard& s, std::string_view key_id);

  std::array<shard, shard_count> shards_;
};

}  // namespace modelgate::quota
