#include "proxy/quota/local_store.hpp"

#include <algorithm>

namespace modelgate::quota {

namespace {

limit_status status_of(const gcra_result& r, const gcra_limit& l) {
  return {l.burst, r.remaining, r.reset};
}

}  // namespace

gcra_limit request_limit(const quota_limits& q) {
  return gcra_limit::per_second(q.requests_per_second, q.burst);
}

gcra_limit token_limit(const quota_limits& q) { return gcra_limit::per_minute(q.tokens_per_minute); }

local_store::shard& local_store::shard_for(std::string_view key_id) {
  return shards_[string_hash{}(key_id) % shard_count];
}

local_store::key_state& local_store::state_in(shard& s, std::string_view key_id) {
  auto it = s.keys.find(key_id);
  if (it == s.keys.end()) it = s.keys.emplace(std::string(key_id), key_state{}).first;
  return it->second;
}

decision local_store::check_rate_and_tokens(std::string_view key_id, const quota_limits& limits,
                                            std::uint64_t token_estimate, clock::time_point now) {
  const auto rl = request_limit(limits);
  const auto tl = token_limit(limits);
  decision d;
  if (rl.unlimited() && tl.unlimited()) return d;
  auto& sh = shard_for(key_id);
  std::lock_guard lock(sh.mutex);
  auto& st = state_in(sh, key_id);
  auto r = st.requests.check(rl, 1, now);
  auto t = st.tokens.check(tl, token_estimate, now);
  if (r.admitted && t.admitted) {
    r = st.requests.try_take(rl, 1, now);
    t = st.tokens.try_take(tl, token_estimate, now);
  } else {
    d.rejected = !r.admitted ? reject_reason::rate : reject_reason::tokens;
    d.retry_after = std::max(r.retry_after, t.retry_after);
    // Nothing was taken: report the current state of the limit that would have passed.
    if (r.admitted) r = st.requests.check(rl, 0, now);
    if (t.admitted) t = st.tokens.check(tl, 0, now);
  }
  if (!rl.unlimited()) d.requests = status_of(r, rl);
  if (!tl.unlimited()) d.tokens = status_of(t, tl);
  return d;
}

std::optional<concurrency_permit> local_store::acquire_concurrency(std::string_view key_id,
                                                                   const quota_limits& limits) {
  std::shared_ptr<concurrency_gate> gate;
  {
    auto& sh = shard_for(key_id);
    std::lock_guard lock(sh.mutex);
    gate = state_in(sh, key_id).gate;
  }
  return concurrency_gate::try_acquire(gate, limits.max_concurrent);
}

admission local_store::admit(std::string_view key_id, const quota_limits& limits,
                             std::uint64_t token_estimate, clock::time_point now) {
  admission a;
  auto permit = acquire_concurrency(key_id, limits);
  if (!permit) {
    a.verdict = peek(key_id, limits, now);
    a.verdict.rejected = reject_reason::concurrency;
    a.verdict.retry_after = std::chrono::seconds(1);
    return a;
  }
  a.verdict = check_rate_and_tokens(key_id, limits, token_estimate, now);
  if (a.verdict.admitted()) {
    a.permit = std::move(*permit);
    if (limits.limits_tokens()) a.reserved_tokens = token_estimate;
  }
  return a;
}

std::optional<limit_status> local_store::reconcile(std::string_view key_id,
                                                   const quota_limits& limits,
                                                   std::uint64_t reserved, std::uint64_t actual,
                                                   clock::time_point now) {
  const auto tl = token_limit(limits);
  if (tl.unlimited()) return std::nullopt;
  auto& sh = shard_for(key_id);
  std::lock_guard lock(sh.mutex);
  auto& st = state_in(sh, key_id);
  const auto delta = actual >= reserved ? static_cast<std::int64_t>(actual - reserved)
                                        : -static_cast<std::int64_t>(reserved - actual);
  return status_of(st.tokens.adjust(tl, delta, now), tl);
}

decision local_store::peek(std::string_view key_id, const quota_limits& limits,
                           clock::time_point now) {
  const auto rl = request_limit(limits);
  const auto tl = token_limit(limits);
  decision d;
  if (rl.unlimited() && tl.unlimited()) return d;
  auto& sh = shard_for(key_id);
  std::lock_guard lock(sh.mutex);
  auto& st = state_in(sh, key_id);
  if (!rl.unlimited()) d.requests = status_of(st.requests.check(rl, 0, now), rl);
  if (!tl.unlimited()) d.tokens = status_of(st.tokens.check(tl, 0, now), tl);
  return d;
}

std::uint32_t local_store::in_flight(std::string_view key_id) {
  auto& sh = shard_for(key_id);
  std::lock_guard lock(sh.mutex);
  auto it = sh.keys.find(key_id);
  return it == sh.keys.end() ? 0 : it->second.gate->in_flight();
}

void local_store::forget(std::string_view key_id) {
  auto& sh = shard_for(key_id);
  std::lock_guard lock(sh.mutex);
  if (auto it = sh.keys.find(key_id); it != sh.keys.end()) sh.keys.erase(it);
}

std::size_t local_store::size() {
  std::size_t n = 0;
  for (auto& sh : shards_) {
    std::lock_guard lock(sh.mutex);
    n += sh.keys.size();
  }
  return n;
}

}  // namespace modelgate::quota
