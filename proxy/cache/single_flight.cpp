#include "proxy/cache/single_flight.hpp"

#include <algorithm>
#include <utility>

namespace modelgate::cache {
namespace {
constexpr auto relaxed = std::memory_order_relaxed;
}  // namespace

flight_lease::flight_lease(flight_lease&& o) noexcept
    : table_(std::exchange(o.table_, nullptr)), key_(o.key_), flight_(o.flight_) {}

flight_lease& flight_lease::operator=(flight_lease&& o) noexcept {
  if (this != &o) {
    if (table_) fail();
    table_ = std::exchange(o.table_, nullptr);
    key_ = o.key_;
    flight_ = o.flight_;
  }
  return *this;
}

flight_lease::~flight_lease() {
  if (table_) fail();
}

std::size_t flight_lease::complete(entry_ptr e) {
  auto* t = std::exchange(table_, nullptr);
  return t ? t->finish(key_, flight_, single_flight::ending::complete, std::move(e)) : 0;
}

std::size_t flight_lease::fail() {
  auto* t = std::exchange(table_, nullptr);
  return t ? t->finish(key_, flight_, single_flight::ending::fail, nullptr) : 0;
}

std::size_t flight_lease::hand_over() {
  auto* t = std::exchange(table_, nullptr);
  return t ? t->finish(key_, flight_, single_flight::ending::hand_over, nullptr) : 0;
}

std::size_t flight_lease::disband() {
  auto* t = std::exchange(table_, nullptr);
  return t ? t->finish(key_, flight_, single_flight::ending::disband, nullptr) : 0;
}

single_flight::single_flight(unsigned max_attempts) : max_attempts_(std::max(1u, max_attempts)) {
  shards_.reserve(shard_count);
  for (std::size_t i = 0; i < shard_count; ++i) shards_.push_back(std::make_unique<shard>());
}

single_flight::shard& single_flight::shard_for(const cache_key& key) {
  return *shards_[key.digest()[cache_key::size - 1] % shard_count];
}

single_flight::join_result single_flight::join(const cache_key& key, time_point deadline,
                                               waiter w) {
  join_result r;
  auto& s = shard_for(key);
  std::unique_lock lock(s.mutex);
  auto [it, fresh] = s.flights.try_emplace(key);
  if (fresh) {
    it->second.id = next_id_.fetch_add(1, relaxed);
    r.lease = flight_lease(this, key, it->second.id);
    flights_.fetch_add(1, relaxed);
    lock.unlock();
    leaders_.fetch_add(1, relaxed);
    return r;
  }
  r.waiter_id = next_id_.fetch_add(1, relaxed);
  it->second.waiters.push_back(waiting{r.waiter_id, deadline, std::move(w)});
  waiting_.fetch_add(1, relaxed);
  lock.unlock();
  followers_.fetch_add(1, relaxed);
  return r;
}

bool single_flight::cancel(const cache_key& key, std::uint64_t waiter_id) {
  waiter dropped;  // destroyed after the lock is released
  auto& s = shard_for(key);
  std::lock_guard lock(s.mutex);
  auto it = s.flights.find(key);
  if (it == s.flights.end()) return false;
  auto& ws = it->second.waiters;
  auto w = std::find_if(ws.begin(), ws.end(), [&](const waiting& x) { return x.id == waiter_id; });
  if (w == ws.end()) return false;
  dropped = std::move(w->fn);
  ws.erase(w);
  waiting_.fetch_sub(1, relaxed);
  return true;
}

std::size_t single_flight::finish(const cache_key& key, std::uint64_t flight_id, ending how,
                                  flight_lease::entry_ptr e) {
  std::vector<waiter> all;
  waiter promoted;
  flight_lease lease;
  wait_result result = wait_result::proceed;
  auto& s = shard_for(key);
  {
    std::lock_guard lock(s.mutex);
    auto it = s.flights.find(key);
    // Leases are unique per flight, so a mismatch is a bug; ignore rather than disturb another.
    if (it == s.flights.end() || it->second.id != flight_id) return 0;
    auto& f = it->second;
    auto take_all = [&](wait_result r) {
      result = r;
      all.reserve(f.waiters.size());
      for (auto& w : f.waiters) all.push_back(std::move(w.fn));
      waiting_.fetch_sub(f.waiters.size(), relaxed);
      s.flights.erase(it);
      flights_.fetch_sub(1, relaxed);
    };
    switch (how) {
      case ending::complete: take_all(wait_result::use_entry); break;
      case ending::disband: take_all(wait_result::proceed); break;
      case ending::fail:
      case ending::hand_over:
        // Only the upstream's failures count: a leader whose client left says nothing about
        // whether the next attempt will succeed.
        if (how == ending::fail) ++f.failures;
        if (f.waiters.empty()) {
          s.flights.erase(it);
          flights_.fetch_sub(1, relaxed);
        } else if (f.failures >= max_attempts_) {
          // Giving up ends the coalescing, not the requests: each follower tries on its own,
          // so none answers an error that another request's attempts caused.
          give_ups_.fetch_add(1, relaxed);
          take_all(wait_result::proceed);
        } else {
          // The flight stays, with the oldest follower as its new leader.
          promoted = std::move(f.waiters.front().fn);
          f.waiters.pop_front();
          waiting_.fetch_sub(1, relaxed);
          lease = flight_lease(this, key, f.id);
          promotions_.fetch_add(1, relaxed);
        }
        break;
    }
  }
  if (promoted) {
    promoted(follower_outcome{wait_result::lead, nullptr, std::move(lease)});
    return 1;
  }
  for (auto& w : all) w(follower_outcome{result, result == wait_result::use_entry ? e : nullptr, {}});
  return all.size();
}

std::size_t single_flight::expire(time_point now) {
  std::vector<waiter> due;
  for (auto& sp : shards_) {
    std::lock_guard lock(sp->mutex);
    for (auto& [key, f] : sp->flights) {
      auto& ws = f.waiters;
      auto late = std::stable_partition(ws.begin(), ws.end(),
                                        [now](const waiting& w) { return w.deadline > now; });
      for (auto it = late; it != ws.end(); ++it) due.push_back(std::move(it->fn));
      waiting_.fetch_sub(static_cast<std::uint64_t>(ws.end() - late), relaxed);
      ws.erase(late, ws.end());
    }
  }
  timeouts_.fetch_add(due.size(), relaxed);
  for (auto& w : due) w(follower_outcome{wait_result::timed_out, nullptr, {}});
  return due.size();
}

std::optional<time_point> single_flight::next_deadline() const {
  std::optional<time_point> next;
  for (const auto& sp : shards_) {
    std::lock_guard lock(sp->mutex);
    for (const auto& [key, f] : sp->flights)
      for (const auto& w : f.waiters)
        if (!next || w.deadline < *next) next = w.deadline;
  }
  return next;
}

single_flight::statistics single_flight::stats() const {
  statistics st;
  st.leaders = leaders_.load(relaxed);
  st.followers = followers_.load(relaxed);
  st.promotions = promotions_.load(relaxed);
  st.give_ups = give_ups_.load(relaxed);
  st.timeouts = timeouts_.load(relaxed);
  st.flights = flights_.load(relaxed);
  st.waiting = waiting_.load(relaxed);
  return st;
}

}  // namespace modelgate::cache
