#include "proxy/http/proxy_error.hpp"

#include <string>

namespace modelgate::proxy {

using boost::beast::http::status;

const proxy_error_info& describe(proxy_errc e) noexcept {
  static const proxy_error_info table[] = {
      {status::internal_server_error, "unknown", "internal error", false},
      {status::bad_request, "bad_request", "malformed HTTP request", false},
      {status::bad_request, "ambiguous_framing",
       "conflicting Content-Length / Transfer-Encoding headers", false},
      {status::not_implemented, "unsupported_encoding", "unsupported Transfer-Encoding", false},
      {status::request_header_fields_too_large, "header_too_large", "request headers too large",
       false},
      {status::payload_too_large, "body_too_large", "request body too large", false},
      {status::request_timeout, "header_timeout", "request headers not received in time", false},
      {status::request_timeout, "body_timeout", "request body not received in time", false},
      {status::not_found, "no_route", "no route matches this request", false},
      {status::bad_gateway, "upstream_connect_failed", "could not connect to an upstream", true},
      {status::bad_gateway, "upstream_connect_timeout", "upstream connect timed out", true},
      {status::gateway_timeout, "upstream_timeout", "upstream did not answer in time", false},
      {status::bad_gateway, "upstream_protocol_error", "upstream sent an invalid response", false},
      {status::bad_gateway, "upstream_reset", "upstream closed the connection", false},
      {status::gateway_timeout, "request_timeout", "request did not complete in time", false},
      {status::service_unavailable, "draining", "the proxy is shutting down", false, 1},
      {status::service_unavailable, "no_healthy_backend", "no healthy backend for this route", true, 1},
      {status::service_unavailable, "circuit_open", "every backend is at its concurrency limit", true, 1},
      {status::bad_request, "bad_target",
       "invalid request target (dot-segments, encoded '/', '.' or backslash, and fragments are "
       "refused)",
       false},
      {status::bad_request, "missing_host", "an HTTP/1.1 request needs a Host header", false},
      {status::bad_request, "chunk_metadata_too_large", "chunk extensions or trailers too large",
       false},
  };
  auto i = static_cast<std::size_t>(e);
  return i < std::size(table) ? table[i] : table[0];
}

namespace {
class category : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "modelgate.proxy"; }
  std::string message(int ev) const override {
    return std::string(describe(static_cast<proxy_errc>(ev)).message);
  }
};
}  // namespace

const boost::system::error_category& proxy_category() noexcept {
  static const category c;
  return c;
}

}  // namespace modelgate::proxy
