#include "backend/batching/tensor_worker.hpp"

#include <algorithm>

namespace modelgate::backend {

tensor_worker::tensor_worker(tensor_model& model, limits l, unsigned threads,
                             batch_observer& observer)
    : model_(model), queue_(l), observer_(observer) {
  for (unsigned i = 0; i < std::max(1u, threads); ++i) threads_.emplace_back([this] { run(); });
}

tensor_worker::~tensor_worker() { join(); }

push_result tensor_worker::submit(infer_job job) {
  const auto rows = job.rows;
  auto p = std::make_shared<pending>();
  p->rows_left = rows;
  p->result.output.resize(rows * static_cast<std::size_t>(model_.output().row_size()));
  p->job = std::move(job);
  return queue_.push(std::move(p), rows);
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
    for (const auto& part : batch->parts)
      if (part.first_row == 0)
        observer_.dequeued(std::chrono::duration<double>(start - part.enqueued).count());
    // One contiguous input for the whole batch.
    input.clear();
    input.reserve(batch->rows * in_row);
    for (const auto& part : batch->parts) {
      const auto from = part.item->job.input.begin() + static_cast<long>(part.first_row * in_row);
      input.insert(input.end(), from, from + static_cast<long>(part.rows * in_row));
    }
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
    for (auto& part : batch->parts) {
      auto& p = *part.item;
      bool finished = false;
      {
        // Parts of one request may run on other workers at the same time.
        std::lock_guard lock(p.m);
        if (!all.error.empty()) {
          if (p.result.error.empty()) p.result.error = all.error;
        } else {
          const auto from = all.output.begin() + static_cast<long>(offset * out_row);
          std::copy(from, from + static_cast<long>(part.rows * out_row),
                    p.result.output.begin() + static_cast<long>(part.first_row * out_row));
        }
        p.rows_left -= part.rows;
        finished = p.rows_left == 0;
      }
      offset += part.rows;
      if (finished) {
        if (!p.result.error.empty()) p.result.output.clear();
        p.job.done(std::move(p.result));
      }
    }
    queue_.done(batch->parts.size());
  }
}

}  // namespace modelgate::backend
