#pragma once
// Large KServe bodies for the classifier, built fast: rows of one fixed data set.

#include <array>
#include <cstddef>
#include <cstdio>
#include <string>

namespace modelgate::test_support {

inline constexpr std::size_t row_values = 3 * 64 * 64;

// An infer body with rows [first, first + count) of one fixed data set: value i of the set is
// (i * 7919) % 100 / 100, so the same row has the same values in every body.
inline std::string rows_body(std::size_t first, std::size_t count) {
  static const auto text = [] {
    std::array<std::string, 100> t;
    for (int v = 0; v < 100; ++v) {
      char digits[8];
      std::snprintf(digits, sizeof digits, "0.%02d", v);
      t[static_cast<std::size_t>(v)] = digits;
    }
    return t;
  }();
  std::string data;
  data.reserve(count * row_values * 5);
  for (std::size_t i = first * row_values; i < (first + count) * row_values; ++i) {
    if (i != first * row_values) data += ',';
    data += text[(i * 7919) % 100];
  }
  return R"({"id":"rows","inputs":[{"name":"input","shape":[)" + std::to_string(count) +
         R"(,3,64,64],"datatype":"FP32","data":[)" + data + "]}]}";
}

}  // namespace modelgate::test_support
