#pragma once
// The decode thread for text generation: a bounded waiting queue in front of a decode_batch.
// Between two steps it admits waiting sequences (up to max_batch running), so new requests join
// a running batch and finished or abandoned ones leave it, one step at a time.

#include "backend/batching/decode_batch.hpp"
#include "backend/batching/dynamic_batcher.hpp"
#include "backend/batching/observer.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace modelgate::backend {

/// Thread-safe: submit() from any thread; the loop runs on its own thread.
class decode_loop {
 public:
  decode_loop(decode_batch::step_fn model, std::int64_t state_size, std::int64_t vocab,
              std::size_t max_batch, std::size_t max_queue, batch_observer& observer);
  ~decode_loop();
  decode_loop(const decode_loop&) = delete;
  decode_loop& operator=(const decode_loop&) = delete;

  push_result submit(generation g);

  /// Refuse new work, finish what is queued and running, then let the thread end.
  void close();
  /// close() and wait for the thread.
  void join();

  std::size_t waiting() const;
  std::size_t running() const;

 private:
  void run();

  struct queued {
    generation g;
    std::chrono::steady_clock::time_point at;
  };

  decode_batch::step_fn model_;
  decode_batch batch_;
  std::size_t max_queue_;
  batch_observer& observer_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<queued> waiting_;
  std::size_t running_ = 0;
  bool closed_ = false;
  std::thread thread_;
};

}  // namespace modelgate::backend
