#include "backend/batching/decode_loop.hpp"

#include <spdlog/spdlog.h>

namespace modelgate::backend {

decode_loop::decode_loop(decode_batch::step_fn model, std::int64_t state_size,
                         std::int64_t vocab, std::size_t max_batch, std::size_t max_queue,
                         batch_observer& observer)
    : model_(std::move(model)),
      batch_(state_size, vocab, max_batch),
      max_queue_(max_queue),
      observer_(observer),
      thread_([this] { run(); }) {}

decode_loop::~decode_loop() { join(); }

push_result decode_loop::submit(generation g) {
  {
    std::lock_guard lock(m_);
    if (closed_) return push_result::closed;
    if (waiting_.size() >= max_queue_) return push_result::full;
    waiting_.push_back({std::move(g), std::chrono::steady_clock::now()});
  }
  cv_.notify_one();
  return push_result::queued;
}

void decode_loop::close() {
  {
    std::lock_guard lock(m_);
    closed_ = true;
  }
  cv_.notify_one();
}

void decode_loop::join() {
  close();
  if (thread_.joinable()) thread_.join();
}

std::size_t decode_loop::waiting() const {
  std::lock_guard lock(m_);
  return waiting_.size();
}

std::size_t decode_loop::running() const {
  std::lock_guard lock(m_);
  return running_;
}

void decode_loop::run() {
  for (;;) {
    {
      std::unique_lock lock(m_);
      cv_.wait(lock, [&] { return closed_ || !waiting_.empty() || batch_.active() > 0; });
      if (closed_ && waiting_.empty() && batch_.active() == 0) return;
      // Join at the step boundary: the running batch never waits for newcomers.
      const auto now = std::chrono::steady_clock::now();
      while (!waiting_.empty() && batch_.has_room()) {
        observer_.dequeued(std::chrono::duration<double>(now - waiting_.front().at).count());
        batch_.join(std::move(waiting_.front().g));
        waiting_.pop_front();
      }
      running_ = batch_.active();
    }
    const auto start = std::chrono::steady_clock::now();
    std::size_t n = 0;
    const std::size_t emitted_before = batch_.emitted();
    try {
      n = batch_.step(model_);
    } catch (const std::exception& e) {
      // A broken model is a bug, not a request error: say so and stop serving text.
      spdlog::critical("decode step failed: {}", e.what());
      std::abort();
    }
    if (n > 0) {
      observer_.executed(n, std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                          start).count());
      observer_.generated(batch_.emitted() - emitted_before);
    }
    std::lock_guard lock(m_);
    running_ = batch_.active();
  }
}

}  // namespace modelgate::backend
