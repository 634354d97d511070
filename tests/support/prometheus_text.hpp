#pragma once
// Reading values out of Prometheus text exposition in tests.

#include <optional>
#include <string_view>

namespace modelgate::test_support {

/// The sum over every series of metric `name` (any labels) in `exposition`, or std::nullopt
/// when no sample line has that exact name. `name{a="b"}` restricts to series whose label set
/// contains that text.
std::optional<double> metric_sum(std::string_view exposition, std::string_view name);

}  // namespace modelgate::test_support
