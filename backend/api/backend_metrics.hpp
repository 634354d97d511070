#pragma once
// The backend's Prometheus metrics (prefix modelgate_backend_), rendered with the shared
// metrics/ helpers. Thread-safe: prometheus-cpp metrics are atomic or locked.

#include "backend/batching/observer.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace modelgate::backend {

class backend_metrics final : public batch_observer {
 public:
  backend_metrics();

  void dequeued(double seconds) override;
  void executed(std::size_t size, double seconds) override;
  void generated(std::size_t n) override;

  /// One answered request; `endpoint` is a fixed route label, never a raw path.
  void request(const std::string& endpoint, unsigned status, double seconds);
  /// A request turned away because the queue was full or the server is stopping.
  void rejected(const char* reason);

  /// Sets the load gauges and renders the text exposition.
  std::string render(std::size_t waiting, std::size_t running, bool ready);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_seconds_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Histogram& queue_seconds_;
  prometheus::Histogram& inference_seconds_;
  prometheus::Histogram& batch_size_;
  prometheus::Counter& tokens_;
  prometheus::Gauge& queue_depth_;
  prometheus::Gauge& in_flight_;
  prometheus::Gauge& ready_;
};

}  // namespace modelgate::backend
