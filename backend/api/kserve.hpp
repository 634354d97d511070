#pragma once
// KServe v2 / Open Inference Protocol bodies: parsing and checking an infer request against the
// model's input, and writing responses, metadata and errors. Pure: strings in, strings out.

#include "backend/model/model.hpp"

#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace modelgate::backend::kserve {

/// A request that cannot be served: its HTTP status and message.
struct api_error {
  unsigned status = 400;
  std::string message;
};

struct infer_request {
  std::string id;
  std::vector<float> data;  // row-major
  std::size_t rows = 0;
};

/// Largest batch one request may carry (bounds memory per request).
inline constexpr std::size_t max_request_rows = 1024;

/// Checks JSON, the single input's name, datatype FP32, shape [N, ...] against `input` and the
/// data length (flat or nested arrays).
std::variant<infer_request, api_error> parse_infer(std::string_view body, const tensor_spec& input);

std::string infer_response(const std::string& model, const std::string& id,
                           const tensor_spec& output, std::size_t rows,
                           const std::vector<float>& data);

/// GET /v2/models/{name}.
std::string model_metadata(const std::string& name, const tensor_spec& input,
                           const tensor_spec& output);

/// {"error": message}.
std::string error_body(std::string_view message);

}  // namespace modelgate::backend::kserve
