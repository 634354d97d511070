#pragma once
// Dynamic batching as a pure state machine (Triton-style): requests queue in arrival order and
// leave as one batch when their rows reach max_batch or the oldest has waited max_delay,
// whichever comes first. No threads and no clock reads: `now` is a parameter.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace modelgate::backend {

enum class push_result { queued, full, closed };

template <class Item, class Clock = std::chrono::steady_clock>
class dynamic_batcher {
 public:
  using time_point = typename Clock::time_point;
  using duration = typename Clock::duration;

  struct limits {
    std::size_t max_batch = 8;   // rows per batch
    duration max_delay{};        // longest wait of the oldest request for a fuller batch
    std::size_t max_queue = 64;  // waiting requests before push answers `full`
  };

  struct entry {
    Item item;
    std::size_t rows;
    time_point enqueued;
  };

  struct batch {
    std::vector<entry> entries;
    std::size_t rows = 0;
  };

  explicit dynamic_batcher(limits l) : limits_(l) {}

  push_result push(Item item, std::size_t rows, time_point now) {
    if (closed_) return push_result::closed;
    if (queue_.size() >= limits_.max_queue) return push_result::full;
    queued_rows_ += rows;
    queue_.push_back(entry{std::move(item), rows, now});
    return push_result::queued;
  }

  /// When a batch is due without further arrivals; nullopt for an empty queue.
  std::optional<time_point> due_at() const {
    if (queue_.empty()) return std::nullopt;
    if (closed_ || queued_rows_ >= limits_.max_batch) return queue_.front().enqueued;
    return queue_.front().enqueued + limits_.max_delay;
  }

  /// The next batch if one is due at `now`. A request larger than max_batch goes alone; a
  /// closed batcher drains without waiting.
  std::optional<batch> take(time_point now) {
    auto due = due_at();
    if (!due || now < *due) return std::nullopt;
    batch b;
    while (!queue_.empty()) {
      auto& e = queue_.front();
      if (!b.entries.empty() && b.rows + e.rows > limits_.max_batch) break;
      b.rows += e.rows;
      queued_rows_ -= e.rows;
      b.entries.push_back(std::move(e));
      queue_.pop_front();
    }
    return b;
  }

  /// Refuse new work; what is queued still leaves through take().
  void close() { closed_ = true; }
  bool closed() const { return closed_; }
  std::size_t waiting() const { return queue_.size(); }
  const limits& config() const { return limits_; }

 private:
  limits limits_;
  std::deque<entry> queue_;
  std::size_t queued_rows_ = 0;
  bool closed_ = false;
};

}  // namespace modelgate::backend
