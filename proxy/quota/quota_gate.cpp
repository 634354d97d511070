#include "proxy/quota/quota_gate.hpp"

namespace modelgate::quota {

auth_result authenticate(const key_table& keys, std::string_view authorization,
                         std::string_view x_api_key, std::string_view target,
                         std::optional<std::string_view> model) {
  auth_result r;
  const auto presented = extract_api_key(authorization, x_api_key);
  const api_key* key = presented ? keys.find(*presented) : nullptr;
  if (key == nullptr) {
    r.rejection = decision::reject(reject_reason::unauthorized);
  } else if (!route_allowed(*key, target, model)) {
    r.rejection = decision::reject(reject_reason::forbidden);
  } else {
    r.key = key;
  }
  return r;
}

boost::asio::awaitable<quota_ticket> quota_gate::admit(const api_key& key,
                                                       std::uint64_t token_estimate,
                                                       clock::time_point now) {
  quota_ticket t;
  t.key_id = key.id;
  t.limits = key.quota;
  auto permit = local_.acquire_concurrency(t.key_id, t.limits);
  if (!permit) {
    // Without Redis the local state is the truth, so the refusal can carry it for the headers.
    if (shared_ == nullptr) t.verdict = local_.peek(t.key_id, t.limits, now);
    t.verdict.rejected = reject_reason::concurrency;
    t.verdict.retry_after = std::chrono::seconds(1);
    co_return t;
  }
  if (shared_ != nullptr) {
    auto [ec, d] = co_await shared_->admit(t.key_id, t.limits, token_estimate);
    if (!ec) {
      t.verdict = std::move(d);
      t.shared = true;
    } else {
      store_errors_.fetch_add(1, std::memory_order_relaxed);
      t.store_error = ec;
      if (policy_ == on_store_error::deny) {
        t.verdict = decision::reject(reject_reason::unavailable, std::chrono::seconds(1));
        co_return t;
      }
      t.fell_back = true;
    }
  }
  if (!t.shared) t.verdict = local_.check_rate_and_tokens(t.key_id, t.limits, token_estimate, now);
  if (t.verdict.admitted()) {
    t.permit = std::move(*permit);
    if (t.limits.limits_tokens()) t.reserved_tokens = token_estimate;
  }
  co_return t;
}

boost::asio::awaitable<std::optional<limit_status>> quota_gate::settle(quota_ticket& ticket,
                                                                       std::uint64_t actual_tokens,
                                                                       clock::time_point now) {
  if (!ticket.verdict.admitted() || !ticket.limits.limits_tokens()) co_return std::nullopt;
  const auto reserved = ticket.reserved_tokens;
  if (!ticket.shared) {
    ticket.reserved_tokens = actual_tokens;  // settling twice charges only the difference
    co_return local_.reconcile(ticket.key_id, ticket.limits, reserved, actual_tokens, now);
  }
  auto [ec, status] =
      co_await shared_->reconcile(ticket.key_id, ticket.limits, reserved, actual_tokens);
  if (ec) {
    store_errors_.fetch_add(1, std::memory_order_relaxed);
    ticket.store_error = ec;
    co_return std::nullopt;
  }
  ticket.reserved_tokens = actual_tokens;
  co_return status;
}

}  // namespace modelgate::quota
