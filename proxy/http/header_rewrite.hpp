#pragma once
// Pure header hygiene for both directions of the proxy: hop-by-hop removal, forwarding headers,
// request ids and framing checks (RFC 9110 §7.6.1, RFC 9112 §6.3). No I/O.

#include "proxy/http/proxy_error.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelgate::proxy {

namespace http = boost::beast::http;

/// What the proxy knows about the downstream side when forwarding a request.
struct forward_context {
  std::string_view client_ip;
  bool tls = false;
  std::string_view request_id;
  std::string_view client_cert = {};  // X-Forwarded-Client-Cert of a verified client certificate
  bool trusted_peer = false;  // the peer is in trusted_proxies: keep its forwarding headers
};

/// Removes the fixed hop-by-hop headers and every header named in `Connection`, except Host and
/// Content-Length (end-to-end, needed to route and to frame: `Connection: host` must not strip
/// Host). Keeps Transfer-Encoding when `keep_transfer_encoding` (a relayed chunked body).
void strip_hop_by_hop(http::fields& fields, bool keep_transfer_encoding);

/// Rejects requests whose body length is ambiguous: Content-Length together with
/// Transfer-Encoding, several differing Content-Length values, or a coding other than chunked.
std::optional<proxy_errc> check_request_framing(const http::fields& fields);

/// Everything in a request's header that makes it unsafe to forward, checked before its body is
/// read: check_request_framing(), a Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1: faulty
/// framing), more than one Host, or none in HTTP/1.1 (RFC 9112 §3.2), and a TRACE announcing
/// content (RFC 9110 §9.3.8).
std::optional<proxy_errc> check_request_header(const http::request_header<>& header);

/// Beast's parser adds chunked trailer fields to the header fields while it reads the body; the
/// proxy forwards none of them (RFC 9110 §6.5.1 lets a recipient discard trailers). Gives
/// `fields` back the header section it had before the body (`header_section`, a copy).
void drop_trailer_fields(http::fields& fields, const http::fields& header_section);

/// Rewrites a downstream request's headers for the upstream: hop-by-hop removed, x-request-id
/// set, Expect dropped (the proxy has already read the body), X-Forwarded-Client-Cert replaced by
/// the verified client certificate's identity (removed when there is none: a client cannot forge
/// it). Forwarding headers: from a trusted peer (another proxy in front) X-Forwarded-For is
/// appended to and X-Forwarded-Proto, X-Forwarded-Host, X-Real-IP and Forwarded are kept (the
/// first two set when absent); from anyone else X-Forwarded-For and X-Real-IP become the peer's
/// address, X-Forwarded-Proto the listener's scheme, and X-Forwarded-Host and Forwarded are
/// removed, so a client cannot make a backend believe another address or host.
void prepare_upstream_request(http::fields& fields, const forward_context& ctx);

/// 32 lowercase hex digits from two random words.
std::string format_request_id(std::uint64_t hi, std::uint64_t lo);

/// A request id from the client is kept only when it is short and printable.
bool acceptable_request_id(std::string_view id);

}  // namespace modelgate::proxy
