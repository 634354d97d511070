// The backend's KServe v2 infer decoding (backend/api/kserve.cpp, torch-free): any body, checked
// against the demo classifier's input [-1,3,64,64] and a small [-1,2,3] that valid inputs reach
// often. Either the body is refused with a 400 and a message, or it decodes to 1..max_request_rows
// rows of exactly row_size() finite floats each: the shapes the batcher hands to torch unchecked.

#include "backend/api/kserve.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <variant>

namespace {

namespace kserve = modelgate::backend::kserve;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

void decode(std::string_view body, const modelgate::backend::tensor_spec& input) {
  auto result = kserve::parse_infer(body, input);
  if (const auto* err = std::get_if<kserve::api_error>(&result)) {
    check(err->status == 400, "a refused body is a 400");
    check(!err->message.empty(), "a refusal says why");
    return;
  }
  const auto& r = std::get<kserve::infer_request>(result);
  check(r.rows >= 1 && r.rows <= kserve::max_request_rows, "rows within 1..max_request_rows");
  check(r.data.size() == r.rows * static_cast<std::size_t>(input.row_size()),
        "data holds rows * row_size values");
  for (float x : r.data) check(std::isfinite(x), "decoded values are finite");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const modelgate::backend::tensor_spec classifier{"input", {-1, 3, 64, 64}};
  static const modelgate::backend::tensor_spec small{"input", {-1, 2, 3}};
  std::string_view body(reinterpret_cast<const char*>(data), size);
  decode(body, classifier);
  decode(body, small);
  return 0;
}
