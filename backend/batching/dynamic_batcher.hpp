#pragma once
// Dynamic batching as a pure state machine (Triton-style): requests queue in arrival order and
// leave in batches of at most max_batch rows, when the queued rows reach max_batch or the oldest
// request has waited max_delay, whichever comes first. No threads and no clock reads: `now` is a
// parameter.
//
// Rows, not requests, are what cost memory (a model call's activations grow with its rows), so
// both limits count rows: the queue holds at most max_queue rows (a request of N rows takes N),
// and a request of more than max_batch rows is cut into parts that fill consecutive batches.
// Worked example, max_batch 16, queue [A: 2 rows, B: 40 rows, C: 3 rows]:
//   batch 1 = A[0,2) + B[0,14)   (16 rows)
//   batch 2 = B[14,30)           (16 rows)
//   batch 3 = B[30,40) + C[0,3)  (13 rows)
// A request that fits in one batch is never cut: it waits for the next batch instead.

#include <cassert>
#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

namespace modelgate::backend {

enum class push_result {
  queued,
  full,       // not enough room now: retry later
  too_large,  // more rows than the whole queue holds: never fits
  closed
};

/// Item must be copyable when a request can be cut (a cheap handle such as a shared_ptr).
template <class Item, class Clock = std::chrono::steady_clock>
class dynamic_batcher {
 public:
  using time_point = typename Clock::time_point;
  using duration = typename Clock::duration;

  struct limits {
    std::size_t max_batch = 8;   // rows per batch
    duration max_delay{};        // longest wait of the oldest request for a fuller batch
    std::size_t max_queue = 64;  // rows waiting before push answers `full`
  };

  /// Rows [first_row, first_row + rows) of a request.
  struct part {
    Item item;
    std::size_t first_row = 0;
    std::size_t rows = 0;
    time_point enqueued;
  };

  struct batch {
    std::vector<part> parts;
    std::size_t rows = 0;
  };

  explicit dynamic_batcher(limits l) : limits_(l) {}

  /// `rows` >= 1.
  push_result push(Item item, std::size_t rows, time_point now) {
    assert(rows >= 1);
    if (closed_) return push_result::closed;
    if (rows > limits_.max_queue) return push_result::too_large;
    if (rows > limits_.max_queue - queued_rows_) return push_result::full;
    queued_rows_ += rows;
    queue_.push_back(entry{std::move(item), rows, 0, now});
    return push_result::queued;
  }

  /// When a batch is due without further arrivals; nullopt for an empty queue.
  std::optional<time_point> due_at() const {
    if (queue_.empty()) return std::nullopt;
    if (closed_ || queued_rows_ >= limits_.max_batch) return queue_.front().enqueued;
    return queue_.front().enqueued + limits_.max_delay;
  }

  /// The next batch if one is due at `now`: at most max_batch rows, requests in arrival order. A
  /// closed batcher drains without waiting.
  std::optional<batch> take(time_point now) {
    auto due = due_at();
    if (!due || now < *due) return std::nullopt;
    batch b;
    while (!queue_.empty() && b.rows < limits_.max_batch) {
      auto& e = queue_.front();
      const std::size_t left = e.rows - e.taken;
      const std::size_t room = limits_.max_batch - b.rows;
      if (left <= room) {  // the (rest of the) request leaves whole
        b.parts.push_back(part{std::move(e.item), e.taken, left, e.enqueued});
        b.rows += left;
        queued_rows_ -= left;
        queue_.pop_front();
        continue;
      }
      if (left <= limits_.max_batch) break;  // fits the next batch whole: not cut
      b.parts.push_back(part{e.item, e.taken, room, e.enqueued});
      b.rows += room;
      e.taken += room;
      queued_rows_ -= room;
    }
    return b;
  }

  /// Refuse new work; what is queued still leaves through take().
  void close() { closed_ = true; }
  bool closed() const { return closed_; }
  /// Requests waiting (one partly taken included).
  std::size_t waiting() const { return queue_.size(); }
  /// Rows waiting: what max_queue bounds.
  std::size_t queued_rows() const { return queued_rows_; }
  const limits& config() const { return limits_; }

 private:
  struct entry {
    Item item;
    std::size_t rows;
    std::size_t taken;  // rows already in earlier batches
    time_point enqueued;
  };

  limits limits_;
  std::deque<entry> queue_;
  std::size_t queued_rows_ = 0;
  bool closed_ = false;
};

}  // namespace modelgate::backend
