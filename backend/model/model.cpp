#include "backend/model/model.hpp"

#include <stdexcept>

namespace modelgate::backend {

quantize_mode parse_quantize(const std::string& text) {
  if (text == "none") return quantize_mode::none;
  if (text == "int8") return quantize_mode::int8;
  if (text == "bf16") return quantize_mode::bf16;
  throw std::invalid_argument("--quantize must be none, int8 or bf16, not '" + text + "'");
}

const char* to_string(quantize_mode q) {
  switch (q) {
    case quantize_mode::int8: return "int8";
    case quantize_mode::bf16: return "bf16";
    default: return "none";
  }
}

std::int64_t tensor_spec::row_size() const {
  std::int64_t n = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) n *= shape[i];
  return n;
}

}  // namespace modelgate::backend
