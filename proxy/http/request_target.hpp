#pragma once
// The request-target of an HTTP/1.1 request (RFC 9112 §3.2), checked once before anything routes
// on it. Pure: no I/O.
//
// What is matched is what is forwarded: the proxy never rewrites a path it accepts, so it refuses
// the paths an upstream could read differently from the route table — dot-segments ("." and ".."
// as a whole segment, also before a ';' parameter, as Tomcat reads "..;"), percent-encoded '/',
// '\', '.' and NUL, and anything that is not a valid origin-form (a '#' fragment, a raw '\',
// a bad %-escape). Absolute-form is accepted (a server MUST accept it): its authority replaces
// Host, and the origin-form of it is what is matched and forwarded.

#include "proxy/http/proxy_error.hpp"

#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace modelgate::proxy {

struct target_verdict {
  std::optional<proxy_errc> error;  // bad_target: answer 400
  // Absolute-form only: the origin-form to match and forward, and the authority for Host.
  std::optional<std::string> origin_form;
  std::string authority;
};

/// Checks `target` of a request with `method`: origin-form ("/path?query"), absolute-form
/// ("http://host/path", http or https, no user info) and "*" for OPTIONS are accepted;
/// authority-form (CONNECT) and anything else is a bad_target.
target_verdict check_request_target(boost::beast::http::verb method, std::string_view target);

/// True when the path part of an origin-form target (query ignored) has no dot-segment and no
/// percent-encoded '/', '\', '.' or NUL.
bool path_is_canonical(std::string_view origin_form);

}  // namespace modelgate::proxy
