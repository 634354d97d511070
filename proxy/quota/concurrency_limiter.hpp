#pragma once
// In-flight cap per key. A request holds a move-only permit from admission until its response is
// complete or the client goes away; the permit's destructor gives the slot back, so an aborted
// request (coroutine destroyed, exception, early return) cannot leak one.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace modelgate::quota {

class concurrency_permit;

/// Counts one key's requests in flight. Thread-safe (one atomic); shared by the store and the
/// permits it handed out, so a permit stays valid after its key is dropped on reload.
class concurrency_gate {
 public:
  std::uint32_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }

  /// A permit when fewer than `max` requests are in flight (`max` 0: no cap, still counted),
  /// otherwise nullopt.
  static std::optional<concurrency_permit> try_acquire(const std::shared_ptr<concurrency_gate>& gate,
                                                       std::uint32_t max);

 private:
  friend class concurrency_permit;
  std::atomic<std::uint32_t> in_flight_{0};
};

/// One slot of a concurrency_gate. Move-only; releases on destruction or release().
/// Not thread-safe itself (one request owns it); the gate it points to is.
class concurrency_permit {
 public:
  concurrency_permit() = default;
  concurrency_permit(concurrency_permit&& other) noexcept = default;
  concurrency_permit& operator=(concurrency_permit&& other) noexcept {
    if (this != &other) {
      release();
      gate_ = std::move(other.gate_);
    }
    return *this;
  }
  concurrency_permit(const concurrency_permit&) = delete;
  concurrency_permit& operator=(const concurrency_permit&) = delete;
  ~concurrency_permit() { release(); }

  /// Gives the slot back now (idempotent).
  void release() noexcept {
    if (gate_) gate_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    gate_.reset();
  }

  explicit operator bool() const noexcept { return gate_ != nullptr; }

 private:
  friend class concurrency_gate;
  explicit concurrency_permit(std::shared_ptr<concurrency_gate> g) : gate_(std::move(g)) {}
  std::shared_ptr<concurrency_gate> gate_;
};

inline std::optional<concurrency_permit> concurrency_gate::try_acquire(
    const std::shared_ptr<concurrency_gate>& gate, std::uint32_t max) {
  auto& n = gate->in_flight_;
  auto cur = n.load(std::memory_order_relaxed);
  do {
    if (max != 0 && cur >= max) return std::nullopt;
  } while (!n.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                    std::memory_order_relaxed));
  return concurrency_permit(gate);
}

}  // namespace modelgate::quota
