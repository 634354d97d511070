#pragma once
// One error vocabulary for the request path: each value maps to an HTTP status, a metric label
// and whether a retry on another connection is safe.

#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

#include <string_view>

namespace modelgate::proxy {

enum class proxy_errc {
  bad_request = 1,            // malformed request line or headers
  ambiguous_framing,          // Content-Length with Transfer-Encoding, or conflicting lengths
  unsupported_encoding,       // a Transfer-Encoding other than chunked
  header_too_large,
  body_too_large,
  header_timeout,
  body_timeout,
  no_route,
  upstream_connect_failed,
  upstream_connect_timeout,
  upstream_timeout,           // no response headers within response_timeout
  upstream_protocol_error,    // the upstream sent something that is not HTTP/1.1
  upstream_reset,             // the upstream closed before any response byte
  request_timeout,
  draining,
  no_healthy_backend,         // every backend of the pool is down and panic mode is off
  circuit_open,               // every candidate backend is at max_inflight_per_backend
  bad_target,                 // request-target neither origin-, absolute- nor asterisk-form, or
                              // a path with dot-segments or encoded separators (RFC 9112 §3.2)
  missing_host,               // an HTTP/1.1 request without Host (RFC 9112 §3.2)
  chunk_metadata_too_large,   // chunk extensions or trailers past the read buffer's bound
};

struct proxy_error_info {
  boost::beast::http::status status;
  std::string_view label;       // metric label and access-log "error" field
  std::string_view message;     // said to the client in the JSON body
  bool retry_safe;              // nothing reached the upstream application
  unsigned retry_after_s = 0;   // Retry-After seconds sent with the error; 0: none
};

const proxy_error_info& describe(proxy_errc e) noexcept;

const boost::system::error_category& proxy_category() noexcept;

inline boost::system::error_code make_error_code(proxy_errc e) noexcept {
  return {static_cast<int>(e), proxy_category()};
}

}  // namespace modelgate::proxy

template <>
struct boost::system::is_error_code_enum<modelgate::proxy::proxy_errc> : std::true_type {};
