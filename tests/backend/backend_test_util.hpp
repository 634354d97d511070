#pragma once
// Small helpers shared by the backend integration tests: request bodies, JSON parsing and the
// backend's /metrics text.

#include "backend_process.hpp"
#include "tests/support/http_client.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace modelgate::test_support {

namespace json = boost::json;

/// A KServe v2 infer body for the demo classifier: `rows` images of 3x64x64 values in [0, 1);
/// another `pattern` gives other values.
inline std::string infer_body(std::int64_t rows, std::string name = "input",
                              std::string datatype = "FP32",
                              std::vector<std::int64_t> shape = {}, int pattern = 0) {
  if (shape.empty()) shape = {rows, 3, 64, 64};
  const std::size_t values = static_cast<std::size_t>(rows) * 3 * 64 * 64;
  std::string data;
  data.reserve(values * 5);
  for (std::size_t i = 0; i < values; ++i) {
    if (i) data += ',';
    data += std::to_string((i * 7919 + static_cast<std::size_t>(pattern) * 31) % 100 / 100.0)
                .substr(0, 4);
  }
  json::array dims;
  for (auto d : shape) dims.push_back(d);
  return R"({"id":"t1","inputs":[{"name":)" + json::serialize(json::string(name)) +
         R"(,"shape":)" + json::serialize(dims) + R"(,"datatype":)" +
         json::serialize(json::string(datatype)) + R"(,"data":[)" + data + "]}]}";
}

/// Parses a body that must be JSON; fails the test (and returns null) otherwise.
inline json::value parse_json(const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  EXPECT_FALSE(ec) << "not JSON: " << body.substr(0, 300);
  return v;
}

/// The `data` of the first output of a KServe v2 JSON answer (empty when it is not JSON).
inline std::vector<double> first_output_data(const std::string& body) {
  std::vector<double> out;
  auto v = parse_json(body);
  if (v.is_object())
    for (const auto& x : v.at("outputs").as_array().at(0).at("data").as_array())
      out.push_back(x.to_number<double>());
  return out;
}

/// GET /metrics on a fresh connection.
inline std::string scrape(std::uint16_t port) {
  auto c = http_client::connect(port);
  auto r = c.get("/metrics");
  EXPECT_EQ(r.result_int(), 200u);
  return r.body();
}

}  // namespace modelgate::test_support
