#include "metrics/exposition.hpp"

#include <prometheus/text_serializer.h>

namespace modelgate::metrics {

std::string serialize(const prometheus::Registry& registry) {
  return prometheus::TextSerializer{}.Serialize(registry.Collect());
}

const std::vector<double>& latency_buckets() {
  static const std::vector<double> b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                     0.5,    1,     2.5,    5,     10,   30,    60,   120};
  return b;
}

const std::vector<double>& count_buckets() {
  static const std::vector<double> b{1, 2, 4, 8, 16, 32, 64, 128, 256};
  return b;
}

}  // namespace modelgate::metrics
