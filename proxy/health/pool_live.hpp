#pragma once
// The live, cross-worker state of one pool's backends: requests in flight, reported queue depth,
// active-check and outlier verdicts. Counters are atomics read on every pick; the outlier state
// machine takes a per-backend mutex only on failures (and on the first success after one).
// Thread-safe. Built with the pool's configuration and lives as long as the runtime state.

#include "config/config.hpp"
#include "proxy/health/outlier.hpp"
#include "proxy/routing/hash_ring.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

namespace modelgate::proxy {

struct backend_live {
  std::atomic<std::int64_t> in_flight{0};
  std::atomic<std::int64_t> reported_queue{0};
  std::atomic<std::int64_t> reported_at{0};  // steady_clock ticks; 0: never
  std::atomic<bool> probe_healthy{true};
  std::atomic<std::int64_t> ejected_until{0};  // steady_clock ticks
  std::atomic<bool> failing{false};            // outlier streak > 0: a success must reset it
  std::atomic<std::uint64_t> picks{0};
  std::atomic<std::uint64_t> ejections{0};
  std::mutex outlier_mutex;
  outlier_state outlier;  // guarded by outlier_mutex

  // A slot of a DNS name has an address only while the name resolves to one for it.
  std::atomic<bool> present{true};
  std::atomic<std::uint32_t> address_generation{0};  // bumped when the slot's address changes
  mutable std::mutex address_mutex;
  std::string address;  // the slot's IP address; guarded by address_mutex
  std::uint16_t port = 0;  // a managed replica's port (0: the configured one); address_mutex
};

/// Where a slot points now.
struct slot_info {
  std::string ip;          // "" while the slot is empty
  std::uint16_t port = 0;  // 0: the backend's configured port
  std::uint32_t generation = 0;
};

class pool_live {
 public:
  using clock = std::chrono::steady_clock;

  explicit pool_live(const config::pool& cfg);

  const config::pool& cfg() const noexcept { return cfg_; }
  std::size_t size() const noexcept { return size_; }
  backend_live& at(std::size_t b) noexcept { return backends_[b]; }
  const backend_live& at(std::size_t b) const noexcept { return backends_[b]; }
  const hash_ring& ring() const noexcept { return ring_; }

  /// Has an address, passes active checks and is not ejected.
  bool available(std::size_t b, clock::time_point now) const noexcept;
  /// A fixed backend, or a DNS slot that currently has an address.
  bool present(std::size_t b) const noexcept { return backends_[b].present.load(std::memory_order_relaxed); }
  std::size_t present_count() const noexcept;

  /// The address of slot `b` (a DNS slot or a managed replica's) and its generation.
  slot_info slot_address(std::size_t b) const;
  /// Gives slot `b` a new address ("" empties it), with a port for a managed replica. A new
  /// address is a new host: its health and ejection state start afresh. Returns true when the
  /// address changed.
  bool set_slot_address(std::size_t b, const std::string& ip, std::uint16_t port = 0);
  /// The last reported queue depth, or 0 when none arrived within load_report.max_age.
  std::uint64_t queued(std::size_t b, clock::time_point now) const noexcept;
  void report_queue(std::size_t b, double depth, clock::time_point now) noexcept;

  /// Outcome of one upstream attempt for passive ejection. Returns true when it ejected `b`.
  /// A refused connection ejects at once (outlier.hpp, record_refusal).
  bool record_failure(std::size_t b, clock::time_point now, failure_kind kind = failure_kind::error);
  void record_success(std::size_t b);
  std::size_t ejected_count(clock::time_point now) const noexcept;

  std::atomic<std::int64_t> active{0};             // requests being served by this pool
  std::atomic<std::int64_t> retries_in_flight{0};  // of which are on a retry

 private:
  static std::int64_t ticks(clock::time_point t) noexcept { return t.time_since_epoch().count(); }

  config::pool cfg_;
  std::size_t size_;
  std::unique_ptr<backend_live[]> backends_;
  hash_ring ring_;
};

/// Counts a request in flight to a backend (and in its pool) while it lives.
class in_flight_guard {
 public:
  in_flight_guard() = default;
  explicit in_flight_guard(std::atomic<std::int64_t>& c) : c_(&c) { c_->fetch_add(1, std::memory_order_relaxed); }
  in_flight_guard(in_flight_guard&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  in_flight_guard& operator=(in_flight_guard&& o) noexcept {
    if (this != &o) {
      reset();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  ~in_flight_guard() { reset(); }
  void reset() noexcept {
    if (c_) c_->fetch_sub(1, std::memory_order_relaxed);
    c_ = nullptr;
  }

 private:
  std::atomic<std::int64_t>* c_ = nullptr;
};

}  // namespace modelgate::proxy
