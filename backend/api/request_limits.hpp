#pragma once
// What one request may make the backend hold while it is read, and the answer to a request that
// could not be read. Pure: constants and a mapping from read errors to statuses.

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace modelgate::backend {

/// Request line and header fields. Above the proxy's default max_header_bytes (16 KiB) so that
/// what the proxy forwards, with the headers it adds, fits.
inline constexpr std::uint32_t max_header_bytes = 32 * 1024;
/// Longest a connection's read buffer may grow. Beast keeps a whole chunk-size line (with its
/// extensions) and the whole trailer section in this buffer before parsing them; bounded, it
/// fails with http::error::buffer_overflow instead of growing.
inline constexpr std::size_t max_read_buffer_bytes = max_header_bytes + 16 * 1024;
/// Beast stores field sizes in 16 bits and throws std::length_error ("field value too large")
/// past 65533 bytes; a trailer field can be no longer than the buffer, so that never happens.
static_assert(max_read_buffer_bytes + 2 < 65535);
/// Request body (a 3x64x64 image is about 85 KB of JSON).
inline constexpr std::uint64_t max_body_bytes = 64 << 20;

/// Sets the header and body limits on a fresh parser.
inline void limit(boost::beast::http::request_parser<boost::beast::http::string_body>& p) {
  p.header_limit(max_header_bytes);
  p.body_limit(max_body_bytes);
}

/// The answer to a request that could not be read.
struct read_refusal {
  unsigned status = 400;
  std::string message;
};

/// 431 for a header section over max_header_bytes, 413 for a body over max_body_bytes, 400 for
/// an over-long chunk-size line or trailer section and any other malformed request; nullopt
/// when there is nobody to answer (closed, reset, timed out).
std::optional<read_refusal> refusal_for(const boost::system::error_code& ec);

}  // namespace modelgate::backend
