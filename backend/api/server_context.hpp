#pragma once
// What every HTTP handler of the backend shares: the model's engine, metrics, and the
// draining flag. Read from the I/O thread; the engine parts are thread-safe.

#include "backend/api/backend_metrics.hpp"
#include "backend/batching/decode_loop.hpp"
#include "backend/batching/tensor_worker.hpp"

#include <fmt/format.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace modelgate::backend {

enum class model_kind { classifier, textgen };

struct server_context {
  std::string name;  // the served model's name in URLs and "model" fields
  model_kind kind = model_kind::classifier;
  const tensor_model* model = nullptr;  // classifier kind
  tensor_worker* tensors = nullptr;     // classifier kind
  decode_loop* text = nullptr;          // textgen kind
  backend_metrics* metrics = nullptr;
  std::int64_t created = 0;             // start time, Unix seconds
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> busy{0};     // requests being answered right now

  std::size_t waiting() const {
    return tensors ? tensors->waiting() : text ? text->waiting() : 0;
  }
  std::size_t running() const {
    return tensors ? tensors->running() : text ? text->running() : 0;
  }
  /// ORCA text form of the load report the proxy reads from every response.
  std::string load_report() const {
    return fmt::format("TEXT named_metrics.queue_depth={},named_metrics.in_flight={}", waiting(),
                       running());
  }
  /// Stop taking work: queued and running requests still finish.
  void close_engine() {
    if (tensors) tensors->close();
    if (text) text->close();
  }
};

}  // namespace modelgate::backend
