// Backend load reports: the ORCA header and a Prometheus text page. Total functions: any input
// gives a value or nullopt; a value is finite and, for the ORCA queue depth, not negative.

#include "proxy/health/load_report.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto depth = modelgate::proxy::orca_queue_depth(text))
    if (!std::isfinite(*depth) || *depth < 0) std::abort();
  // The first line names the metric, the rest is the page.
  auto nl = text.find('\n');
  auto metric = text.substr(0, nl);
  auto page = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
  if (!metric.empty())
    if (auto sum = modelgate::proxy::prometheus_sum(page, metric); sum && !std::isfinite(*sum))
      std::abort();
  return 0;
}
