#pragma once
// What the batching code reports; the metrics side implements it. Calls come from worker threads.

#include <cstddef>

namespace modelgate::backend {

class batch_observer {
 public:
  virtual ~batch_observer() = default;
  /// A request left the queue after `seconds` of waiting.
  virtual void dequeued(double seconds) = 0;
  /// One model call over `size` rows (or decode sequences) took `seconds`.
  virtual void executed(std::size_t size, double seconds) = 0;
  /// `n` tokens were generated.
  virtual void generated(std::size_t n) = 0;
};

}  // namespace modelgate::backend
