#pragma once
// The dynamic batcher shared between I/O threads (push) and inference worker threads (take):
// a mutex, a condition variable and the steady clock around the pure dynamic_batcher.

#include "backend/batching/dynamic_batcher.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace modelgate::backend {

/// Thread-safe. Workers call wait_batch() in a loop until it returns nullopt (closed and empty).
template <class Item>
class batch_queue {
 public:
  using batcher = dynamic_batcher<Item>;
  using clock = std::chrono::steady_clock;

  explicit batch_queue(typename batcher::limits l) : b_(l) {}

  push_result push(Item item, std::size_t rows) {
    push_result r;
    {
      std::lock_guard lock(m_);
      r = b_.push(std::move(item), rows, clock::now());
    }
    if (r == push_result::queued) cv_.notify_one();
    return r;
  }

  /// Blocks until a batch is due; nullopt once closed and drained.
  std::optional<typename batcher::batch> wait_batch() {
    std::unique_lock lock(m_);
    for (;;) {
      auto now = clock::now();
      if (auto b = b_.take(now)) {
        running_ += b->parts.size();
        // Others may be due too (another worker can take them).
        if (b_.waiting() > 0) cv_.notify_one();
        return b;
      }
      if (b_.closed() && b_.waiting() == 0) return std::nullopt;
      if (auto due = b_.due_at())
        cv_.wait_until(lock, *due);
      else
        cv_.wait(lock);
    }
  }

  /// A worker finished a batch of `parts` parts.
  void done(std::size_t parts) {
    std::lock_guard lock(m_);
    running_ -= parts;
  }

  void close() {
    {
      std::lock_guard lock(m_);
      b_.close();
    }
    cv_.notify_all();
  }

  std::size_t waiting() const {
    std::lock_guard lock(m_);
    return b_.waiting();
  }
  std::size_t running() const {
    std::lock_guard lock(m_);
    return running_;
  }
  const typename batcher::limits& config() const { return b_.config(); }

 private:
  mutable std::mutex m_;
  std::condition_variable cv_;
  batcher b_;
  std::size_t running_ = 0;
};

}  // namespace modelgate::backend
