#pragma once
// The request-path entry point of auth + quota, so proxy/http needs two calls: authenticate()
// (pure) before routing work, then quota_gate::admit() after it, and settle() once the response's
// usage is known. It combines the local store (concurrency always; rate and tokens without Redis
// or as the on_error=allow fallback) with the optional shared Redis store.

#include "proxy/quota/decision.hpp"
#include "proxy/quota/key_table.hpp"
#include "proxy/quota/local_store.hpp"
#include "proxy/quota/redis_store.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelgate::quota {

/// `quota_store.on_error`.
enum class on_store_error { allow, deny };

/// Who is calling: the key, or the 401/403 decision to send. Pure.
struct auth_result {
  const api_key* key = nullptr;       // set when authenticated and allowed
  std::optional<decision> rejection;  // unauthorized or forbidden
};

/// Extracts the presented key from the header values, looks it up, and checks the route/model
/// allow-list. Missing or unknown key → unauthorized; route not allowed → forbidden. (A route
/// marked `public: true` skips this call.)
auth_result authenticate(const key_table& keys, std::string_view authorization,
                         std::string_view x_api_key, std::string_view target,
                         std::optional<std::string_view> model);

/// What an admitted request carries until its response is finished.
struct quota_ticket {
  decision verdict;            // admitted or not; headers come from response_headers(verdict)
  concurrency_permit permit;   // release() when the response completes; destruction also does
  std::string key_id;
  quota_limits limits;
  std::uint64_t reserved_tokens = 0;  // to settle with the real usage
  bool shared = false;                // reserved in Redis (else in the local store)
  bool fell_back = false;             // Redis failed and on_error=allow used the local limiter
  boost::system::error_code store_error;  // the last shared-store failure (admit or settle)
};

/// One per worker thread (like the redis_store it may use). Not thread-safe; the local store
/// it points to is, and may be shared by all workers.
class quota_gate {
 public:
  /// `shared` may be null (quota_store.kind: local).
  quota_gate(local_store& local, redis_store* shared, on_store_error policy)
      : local_(local), shared_(shared), policy_(policy) {}

  /// Concurrency (local), then rate + tokens (Redis if configured, else local). A Redis failure
  /// is counted and mapped by the policy: allow → the local limiter decides; deny → rejected
  /// with reason unavailable (503). `now` is only used for the local limiter.
  boost::asio::awaitable<quota_ticket> admit(const api_key& key, std::uint64_t token_estimate,
                                             clock::time_point now);

  /// Settles the reservation with the response's usage (refund or charge) where it was made.
  /// Returns the token status afterwards; nullopt without a token limit or on a store error
  /// (counted; the reservation then stays charged).
  boost::asio::awaitable<std::optional<limit_status>> settle(quota_ticket& ticket,
                                                             std::uint64_t actual_tokens,
                                                             clock::time_point now);

  /// Shared-store failures seen by this gate (for modelgate_quota_store_errors_total).
  std::uint64_t store_errors() const noexcept { return store_errors_.load(std::memory_order_relaxed); }

 private:
  local_store& local_;
  redis_store* shared_;
  on_store_error policy_;
  std::atomic<std::uint64_t> store_errors_{0};
};

}  // namespace modelgate::quota
