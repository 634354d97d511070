#pragma once
// Prometheus text exposition and bucket presets shared by the proxy and the backend.

#include <prometheus/registry.h>

#include <string>
#include <vector>

namespace modelgate::metrics {

/// Content-Type of the Prometheus text format (version 0.0.4).
inline constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every family of `registry` in the text format. Thread-safe (prometheus-cpp locks).
std::string serialize(const prometheus::Registry& registry);

/// Latency buckets in seconds, 0.5 ms to 120 s: proxy overhead through long generations.
const std::vector<double>& latency_buckets();

/// Size buckets for batch sizes and similar small counts: 1, 2, 4, ... 256.
const std::vector<double>& count_buckets();

}  // namespace modelgate::metrics
