#pragma once
// What a request's header alone decides, before routing: the checks of RFC 9112 (framing, Host,
// request-target), the absolute-form adopted as origin-form, and a declared length over the body
// limit; and whether an answer sent before the body may keep the connection. Pure: no I/O. The
// request_path fuzz target runs these as the proxy does.

#include "proxy/http/proxy_error.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <optional>

namespace modelgate::proxy {

using request_parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

/// A body announced up to this size is read and dropped after an answer sent before it, so the
/// connection can carry on; a larger one closes it.
inline constexpr std::uint64_t early_answer_discard_bytes = 64 * 1024;

/// After the header is parsed: check_request_header(), then check_request_target() (an
/// absolute-form target is replaced by its origin-form and its authority becomes Host), then a
/// Content-Length over `max_body_bytes`. The first error, or nullopt.
std::optional<proxy_errc> check_request_head(request_parser& parser, std::uint64_t max_body_bytes);

/// After an answer sent before the body, the connection carries on only when the client wants it
/// and the body is complete, or small, announced and not awaiting 100 Continue (the caller then
/// reads and drops it, as nginx discards it): a large, chunked or awaited body's bytes cannot be
/// told from a next request.
bool keep_after_early_answer(const request_parser& parser);

}  // namespace modelgate::proxy
