#include "proxy/http/request_head.hpp"

#include "proxy/http/header_rewrite.hpp"
#include "proxy/http/request_target.hpp"

#include <boost/beast/core/string.hpp>

namespace modelgate::proxy {

std::optional<proxy_errc> check_request_head(request_parser& parser, std::uint64_t max_body_bytes) {
  auto& req = parser.get();
  if (auto e = check_request_header(req)) return e;
  auto target = check_request_target(req.method(), req.target());
  if (target.error) return target.error;
  if (target.origin_form) {
    req.target(*target.origin_form);
    req.set(http::field::host, target.authority);
  }
  if (auto length = parser.content_length(); length && *length > max_body_bytes)
    return proxy_errc::body_too_large;
  return std::nullopt;
}

bool keep_after_early_answer(const request_parser& parser) {
  const auto& req = parser.get();
  if (!req.keep_alive()) return false;
  if (parser.is_done()) return true;
  const auto length = parser.content_length();
  return length && *length <= early_answer_discard_bytes &&
         !boost::beast::iequals(req[http::field::expect], "100-continue");
}

}  // namespace modelgate::proxy
