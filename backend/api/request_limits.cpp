#include "backend/api/request_limits.hpp"

#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

namespace modelgate::backend {

std::optional<read_refusal> refusal_for(const boost::system::error_code& ec) {
  namespace http = boost::beast::http;
  if (ec == http::error::header_limit)
    return read_refusal{431, fmt::format("the request header section is larger than {} KiB",
                                         max_header_bytes / 1024)};
  if (ec == http::error::body_limit)
    return read_refusal{413, fmt::format("the request body is larger than {} MiB",
                                         max_body_bytes >> 20)};
  if (ec == http::error::buffer_overflow)
    return read_refusal{400, fmt::format("a chunk-size line or the trailer section is longer than "
                                         "{} KiB",
                                         max_read_buffer_bytes / 1024)};
  // The client left (between requests or in the middle of one): nobody reads an answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_method).category())
    return read_refusal{400, "malformed HTTP request: " + ec.message()};
  return std::nullopt;
}

}  // namespace modelgate::backend
