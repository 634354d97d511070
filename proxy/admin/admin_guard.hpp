#pragma once
// Who may use the admin listener (issue 14). A web page in a browser that can reach the admin
// port must not reload the configuration or purge the cache: a cross-site request carries an
// `Origin`, a DNS-rebound one carries the attacker's name as `Host`, and a form or a no-cors
// fetch() cannot send `Content-Type: application/json` without a CORS preflight (which is
// refused like any request with an Origin). Pure: the admin server asks, then answers.

#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string_view>

namespace modelgate::proxy {

/// What the admin listener looks at in a request before serving it.
struct admin_request_view {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  unsigned version = 11;                      // 10 or 11
  std::optional<std::string_view> host;       // nullopt: no Host header
  bool has_origin = false;
  std::optional<std::string_view> content_type;  // nullopt: none sent
};

/// Refusal of a request, or nullopt to serve it.
struct admin_refusal {
  unsigned status;           // 400, 403 or 415
  std::string_view message;  // plain text for the body
};

/// The rules, first match wins:
///  - HTTP/1.1 without Host, or a POST (any state change) without Host: 400;
///  - any `Origin` header: 403 (browsers send it on cross-origin and on POST requests; the
///    admin clients we support — curl, scripts, Prometheus, probes — do not);
///  - a method other than GET or HEAD whose Host is not local (is_local_host): 403;
///  - a method other than GET or HEAD without `Content-Type: application/json` (parameters
///    allowed, case-insensitive; a missing one too): 415.
/// GET and HEAD (/metrics, /healthz, /readyz change nothing) accept any Host, so scrapers and
/// probes that address the listener by an IP it was not configured with keep working.
/// `listener_host`: the admin listener's configured host (an IP literal).
std::optional<admin_refusal> check_admin_request(const admin_request_view& req,
                                                 std::string_view listener_host);

/// True for a Host value (with or without a port) naming this machine's loopback —
/// `localhost`, `127.0.0.1`, `[::1]` — or `listener_host` (not when it is 0.0.0.0 or ::, which
/// name no single host). Case-insensitive; a malformed port is not local.
bool is_local_host(std::string_view host, std::string_view listener_host);

/// The status to answer a failed read of a request with, then close: 431 (header over the
/// limit), 413 (body over the limit), 400 (another framing error, or a line that does not fit
/// the bounded read buffer, e.g. a huge chunk extension); nullopt when there is nobody to answer
/// (the client closed, the read timed out).
std::optional<unsigned> status_for_read_error(const boost::system::error_code& ec);

}  // namespace modelgate::proxy
