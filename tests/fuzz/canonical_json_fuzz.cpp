// The cache key canonicaliser: for any body the cache treats as JSON, the canonical text is JSON
// again, and canonicalises to itself (idempotent) so equal requests always share one key.
// Idempotence is checked only for values without floating-point numbers: Boost.JSON 1.81 parses
// decimals without correct rounding, so "2.1E301" may come back one ulp away. (For the cache that
// can only cost a miss between two texts of nearly the same number, never a wrong hit.)

#include "proxy/cache/request_body.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

bool has_double(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::double_:
      return true;
    case boost::json::kind::array:
      return std::any_of(v.get_array().begin(), v.get_array().end(), has_double);
    case boost::json::kind::object:
      return std::any_of(v.get_object().begin(), v.get_object().end(),
                         [](const auto& kv) { return has_double(kv.value()); });
    default:
      return false;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = modelgate::cache::request_body::parse(text);
  if (!body.json()) return 0;
  auto once = modelgate::cache::canonical_json(*body.json());
  boost::system::error_code ec;
  auto again = boost::json::parse(once, ec);
  if (ec) std::abort();  // canonical text must be valid JSON
  if (!has_double(again) && modelgate::cache::canonical_json(again) != once) std::abort();
  return 0;
}
