#include "backend/batching/tensor_worker.hpp"

namespace modelgate::backend {

tensor_worker::tensor_worker(tensor_model& model, batch_queue<infer_job>::batcher::limits limits,
                             unsigned threads, batch_observer& observer)
    : model_(model), queue_(limits), observer_(observer) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) threads_.emplace_back([this] { run(); });
}

tensor_worker::~tensor_worker() { join(); }

push_result tensor_worker::submit(infer_job job) {
  const auto rows = job.rows;
  return queue_.push(std::move(job), rows);
}

void tensor_worker::join() {
  queue_.close();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void tensor_worker::run() {
  const auto in_row = static_cast<std::size_t>(model_.input().row_size());
  const auto out_row = static_cast<std::size_t>(model_.output().row_size());
  std::vector<float> input;
  while (auto batch = queue_.wait_batch()) {
    const auto start = std::chrono::steady_clock::now();
    for (const auto& e : batch->entries)
      observer_.dequeued(std::chrono::duration<double>(start - e.enqueued).count());
    // One contiguous input for the whole batch.
    input.clear();
    input.reserve(batch->rows * in_row);
    for (const auto& e : batch->entries)
      input.insert(input.end(), e.item.input.begin(), e.item.input.end());
    infer_result all;
    try {
      all.output = model_.run(input, static_cast<std::int64_t>(batch->rows));
    } catch (const std::exception& e) {
      all.error = e.what();
    }
    observer_.executed(batch->rows,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                           .count());
    std::size_t offset = 0;
    for (auto& e : batch->entries) {
      infer_result r;
      if (all.error.empty()) {
        auto from = all.output.begin() + static_cast<long>(offset * out_row);
        r.output.assign(from, from + static_cast<long>(e.rows * out_row));
      } else {
        r.error = all.error;
      }
      offset += e.rows;
      e.item.done(std::move(r));
    }
    queue_.done(batch->entries.size());
  }
}

}  // namespace modelgate::backend
