#pragma once
// Inference worker threads for tensor models: they take batches from the dynamic batcher, run
// the model once per batch and hand each request its rows of the output.

#include "backend/batching/batch_queue.hpp"
#include "backend/batching/observer.hpp"
#include "backend/model/model.hpp"

#include <functional>
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
 public:
  tensor_worker(tensor_model& model, batch_queue<infer_job>::batcher::limits limits,
                unsigned threads, batch_observer& observer);
  ~tensor_worker();
  tensor_worker(const tensor_worker&) = delete;
  tensor_worker& operator=(const tensor_worker&) = delete;

  push_result submit(infer_job job);
  /// Refuse new jobs; the queued ones still run. join() waits for the threads.
  void close() { queue_.close(); }
  void join();

  std::size_t waiting() const { return queue_.waiting(); }
  std::size_t running() const { return queue_.running(); }

 private:
  void run();

  tensor_model& model_;
  batch_queue<infer_job> queue_;
  batch_observer& observer_;
  std::vector<std::thread> threads_;
};

}  // namespace modelgate::backend
