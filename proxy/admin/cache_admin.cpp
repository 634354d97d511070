#include "proxy/admin/cache_admin.hpp"

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::optional<std::string> query_param(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
  }
  return std::nullopt;
}

void handle_cache_purge(runtime_state& st, const http::request<http::string_body>& req,
                        http::response<http::string_body>& res) {
  if (req.method() != http::verb::post) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "POST");
    res.body() = "use POST\n";
    return;
  }
  if (!st.cache) {
    res.result(http::status::not_found);
    res.body() = "no route has a cache\n";
    return;
  }
  std::string_view target(req.target().data(), req.target().size());
  auto q = target.find('?');
  std::optional<std::string> route;
  if (q != std::string_view::npos) {
    route = query_param(target.substr(q + 1), "route");
    if (!route) {
      res.result(http::status::bad_request);
      res.body() = "expected ?route=NAME\n";
      return;
    }
  }
  auto purged = st.cache->purge(route ? std::optional<std::string_view>(*route) : std::nullopt);
  if (!purged) {
    res.result(http::status::not_found);
    res.body() = "no route named '" + *route + "'\n";
    return;
  }
  res.set(http::field::content_type, "application/json");
  res.body() = "{\"purged\":" + std::to_string(*purged) + "}\n";
}

}  // namespace modelgate::proxy
