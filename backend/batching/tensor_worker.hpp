#pragma once
// Inference worker threads for tensor models: they take batches from the dynamic batcher, run
// the model once per batch and hand each request its rows of the output. A request of more
// than max_batch rows runs as several parts (possibly on several workers); it is answered once
// its last part ran, with the outputs joined in row order.

#include "backend/batching/batch_queue.hpp"
#include "backend/batching/observer.hpp"
#include "backend/model/model.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace modelgate::backend {

struct infer_result {
  std::vector<float> output;  // rows * output row size
  std::string error;          // non-empty: the model call failed
};

struct infer_job {
  std::vector<float> input;  // rows * input row size
  std::size_t rows = 0;
  /// Runs on a worker thread; must not block.
  std::function<void(infer_result)> done;
};

/// Thread-safe: submit() from any thread.
class tensor_worker {
  struct pending;

 public:
  using limits = dynamic_batcher<std::shared_ptr<pending>>::limits;

  tensor_worker(tensor_model& model, limits l, unsigned threads, batch_observer& observer);
  ~tensor_worker();
  tensor_worker(const tensor_worker&) = delete;
  tensor_worker& operator=(const tensor_worker&) = delete;

  /// `job.rows` >= 1. too_large: more rows than max_queue.
  push_result submit(infer_job job);
  /// Refuse new jobs; the queued ones still run. join() waits for the threads.
  void close() { queue_.close(); }
  void join();

  std::size_t waiting() const { return queue_.waiting(); }
  std::size_t running() const { return queue_.running(); }
  const limits& config() const { return queue_.config(); }

 private:
  // A submitted job and what its parts produced so far.
  struct pending {
    infer_job job;
    std::mutex m;
    infer_result result;  // output sized for every row at submit
    std::size_t rows_left = 0;
  };

  void run();

  tensor_model& model_;
  batch_queue<std::shared_ptr<pending>> queue_;
  batch_observer& observer_;
  std::vector<std::thread> threads_;
};

}  // namespace modelgate::backend
