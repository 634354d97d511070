#pragma once
// Request coalescing: concurrent identical misses make one upstream request (the leader's);
// the others wait for its answer. Executor-agnostic: a waiter is a callback the completing
// thread invokes, so the Asio layer can post it to the waiting connection's io_context.

#include "proxy/cache/cache_entry.hpp"
#include "proxy/cache/cache_key.hpp"
#include "proxy/cache/cache_policy.hpp"
#include "proxy/cache/unique_function.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace modelgate::cache {

class single_flight;

/// The leader's duty for one key: call complete(), fail(), hand_over() or disband() exactly once.
/// Move-only; a lease dropped without any of them counts as fail(), so followers never hang on a
/// leader that vanished (an exception, a destroyed coroutine, a handler dropped by a stopped
/// io_context). No ending makes a follower answer an error: at worst it forwards on its own.
/// The single_flight must outlive its leases.
class flight_lease {
 public:
  using entry_ptr = std::shared_ptr<const cache_entry>;

  flight_lease() = default;
  flight_lease(flight_lease&& o) noexcept;
  flight_lease& operator=(flight_lease&& o) noexcept;
  flight_lease(const flight_lease&) = delete;
  flight_lease& operator=(const flight_lease&) = delete;
  ~flight_lease();

  /// True while this lease still owes an outcome.
  explicit operator bool() const { return table_ != nullptr; }
  const cache_key& key() const { return key_; }

  /// Success: every follower is told to use `e` (which need not be in the store).
  /// Returns the number of followers notified.
  std::size_t complete(entry_ptr e);
  /// The leader's request failed: the oldest follower becomes the new leader and the others
  /// keep waiting. After max_attempts failed leaders the flight gives up: every follower is
  /// told to proceed upstream on its own (and meets the upstream's own answer, if any).
  std::size_t fail();
  /// The leader stops for a reason of its own, not the upstream's (its client left): the
  /// oldest follower leads next, and this does not count as a failed attempt, so clients
  /// that give up never use up the attempts of those that wait (issue 14).
  std::size_t hand_over();
  /// The answer cannot be shared (not storable, too large): every follower proceeds upstream
  /// on its own, uncoalesced.
  std::size_t disband();

 private:
  friend class single_flight;
  flight_lease(single_flight* t, const cache_key& k, std::uint64_t id)
      : table_(t), key_(k), flight_(id) {}

  single_flight* table_ = nullptr;
  cache_key key_;
  std::uint64_t flight_ = 0;
};

/// What a follower is told, exactly once per registered waiter (unless cancelled).
enum class wait_result {
  use_entry,  // the leader succeeded: answer from `entry`
  lead,       // the leader failed: you lead now (`lease` is set); forward upstream
  proceed,    // the answer cannot be shared, or max_attempts leaders failed: forward on your own
  timed_out,  // your deadline passed (expire()): forward on your own or answer 504
};

struct follower_outcome {
  wait_result result = wait_result::proceed;
  flight_lease::entry_ptr entry;  // use_entry
  flight_lease lease;             // lead
};

/// Invoked once, on the completing thread, outside any lock. Must not throw. It may post the
/// outcome elsewhere; if the outcome is destroyed unused, its lease (if any) fails, which
/// promotes the next follower.
using waiter = unique_function<void(follower_outcome)>;

/// The table of in-flight keys. Thread-safe: every member function may be called from any
/// thread; locks are per shard and never held while a waiter runs.
class single_flight {
 public:
  struct join_result {
    flight_lease lease;           // set when the caller leads
    std::uint64_t waiter_id = 0;  // set when the caller follows (for cancel())
    bool leads() const { return static_cast<bool>(lease); }
  };

  struct statistics {
    std::uint64_t leaders = 0;      // flights started
    std::uint64_t followers = 0;    // waiters registered (coalesced requests)
    std::uint64_t promotions = 0;   // followers made leader after a failure or a hand-over
    std::uint64_t give_ups = 0;     // flights ended by max_attempts failed leaders
    std::uint64_t timeouts = 0;     // waiters expired
    std::uint64_t flights = 0;      // in flight now
    std::uint64_t waiting = 0;      // waiters registered now
  };

  /// `max_attempts`: failed leaders per flight before the remaining followers proceed alone.
  explicit single_flight(unsigned max_attempts = 3);
  single_flight(const single_flight&) = delete;
  single_flight& operator=(const single_flight&) = delete;
  /// Precondition: no leases outstanding.
  ~single_flight() = default;

  /// If nobody is fetching `key`, the caller leads (the returned lease is set; `w` is dropped
  /// uncalled). Otherwise `w` is registered and will be called exactly once, unless cancel()ed;
  /// `deadline` is when expire() times it out.
  join_result join(const cache_key& key, time_point deadline, waiter w);

  /// Withdraws a waiter (its client went away, or its own timer fired). True if it was still
  /// registered: it will not be called. False: it has been or is being called.
  bool cancel(const cache_key& key, std::uint64_t waiter_id);

  /// Calls every waiter whose deadline is <= now with timed_out; returns how many.
  std::size_t expire(time_point now);
  /// The earliest waiter deadline, for the timer that calls expire().
  std::optional<time_point> next_deadline() const;

  statistics stats() const;

 private:
  friend class flight_lease;
  enum class ending { complete, fail, hand_over, disband };

  struct waiting {
    std::uint64_t id;
    time_point deadline;
    waiter fn;
  };
  struct flight {
    std::uint64_t id;
    unsigned failures = 0;
    std::deque<waiting> waiters;  // FIFO: the oldest is promoted first
  };
  struct shard {
    mutable std::mutex mutex;
    std::unordered_map<cache_key, flight> flights;
  };

  shard& shard_for(const cache_key& key);
  std::size_t finish(const cache_key& key, std::uint64_t flight_id, ending how,
                     flight_lease::entry_ptr e);

  static constexpr std::size_t shard_count = 16;
  unsigned max_attempts_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<std::uint64_t> next_id_{1};

  std::atomic<std::uint64_t> leaders_{0};
  std::atomic<std::uint64_t> followers_{0};
  std::atomic<std::uint64_t> promotions_{0};
  std::atomic<std::uint64_t> give_ups_{0};
  std::atomic<std::uint64_t> timeouts_{0};
  std::atomic<std::uint64_t> flights_{0};
  std::atomic<std::uint64_t> waiting_{0};
};

}  // namespace modelgate::cache
