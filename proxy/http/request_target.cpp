#include "proxy/http/request_target.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

namespace modelgate::proxy {
namespace {

// "%2f", "%2F", "%5c", "%2e", "%00": an escape an upstream may decode into a path separator, a
// dot-segment or a string end after the route table matched the undecoded form.
bool dangerous_escape(std::string_view path, std::size_t percent) {
  if (percent + 2 >= path.size()) return false;
  const char a = path[percent + 1];
  const char b = static_cast<char>(path[percent + 2] | 0x20);  // lower case
  return (a == '2' && (b == 'f' || b == 'e')) || (a == '5' && b == 'c') || (a == '0' && b == '0');
}

bool dot_segment(std::string_view segment) {
  // "..;x" is ".." to servlet containers, which drop path parameters before resolving.
  segment = segment.substr(0, segment.find(';'));
  return segment == "." || segment == "..";
}

}  // namespace

bool path_is_canonical(std::string_view origin_form) {
  const auto path = origin_form.substr(0, origin_form.find('?'));
  for (auto p = path.find('%'); p != std::string_view::npos; p = path.find('%', p + 1))
    if (dangerous_escape(path, p)) return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    if (dot_segment(path.substr(start, end - start))) return false;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

target_verdict check_request_target(boost::beast::http::verb method, std::string_view target) {
  target_verdict v;
  if (target == "*") {
    if (method != boost::beast::http::verb::options) v.error = proxy_errc::bad_target;
    return v;
  }
  if (target.starts_with('/')) {
    if (!boost::urls::parse_origin_form(target) || !path_is_canonical(target))
      v.error = proxy_errc::bad_target;
    return v;
  }
  auto uri = boost::urls::parse_absolute_uri(target);
  if (!uri || !uri->has_authority() || uri->encoded_host().empty() || uri->has_userinfo() ||
      (!boost::beast::iequals(uri->scheme(), "http") &&
       !boost::beast::iequals(uri->scheme(), "https"))) {
    v.error = proxy_errc::bad_target;
    return v;
  }
  std::string origin(uri->encoded_path().empty() ? std::string_view("/")
                                                  : std::string_view(uri->encoded_path()));
  if (uri->has_query()) {
    origin += '?';
    origin += std::string_view(uri->encoded_query());
  }
  if (!origin.starts_with('/') || !path_is_canonical(origin)) {
    v.error = proxy_errc::bad_target;
    return v;
  }
  v.origin_form = std::move(origin);
  v.authority = std::string_view(uri->encoded_authority());
  return v;
}

}  // namespace modelgate::proxy
