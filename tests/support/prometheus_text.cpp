#include "tests/support/prometheus_text.hpp"

#include <cstdlib>
#include <string>

namespace modelgate::test_support {

std::optional<double> metric_sum(std::string_view exposition, std::string_view name) {
  std::string_view bare = name.substr(0, name.find('{'));
  std::string_view label_filter;
  if (bare.size() < name.size())
    label_filter = name.substr(bare.size() + 1, name.size() - bare.size() - 2);
  std::optional<double> sum;
  std::size_t pos = 0;
  while (pos < exposition.size()) {
    auto end = exposition.find('\n', pos);
    if (end == std::string_view::npos) end = exposition.size();
    std::string_view line = exposition.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#' || !line.starts_with(bare)) continue;
    std::string_view rest = line.substr(bare.size());
    std::string_view labels;
    if (!rest.empty() && rest.front() == '{') {
      auto close = rest.find('}');
      if (close == std::string_view::npos) continue;
      labels = rest.substr(1, close - 1);
      rest = rest.substr(close + 1);
    }
    if (rest.empty() || rest.front() != ' ') continue;  // a longer name sharing the prefix
    if (!label_filter.empty() && labels.find(label_filter) == std::string_view::npos) continue;
    std::string value(rest.substr(1, rest.find(' ', 1) == std::string_view::npos
                                         ? std::string_view::npos
                                         : rest.find(' ', 1) - 1));
    sum = sum.value_or(0.0) + std::strtod(value.c_str(), nullptr);
  }
  return sum;
}

}  // namespace modelgate::test_support
