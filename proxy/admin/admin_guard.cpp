#include "proxy/admin/admin_guard.hpp"

#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>

namespace modelgate::proxy {
namespace http = boost::beast::http;
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The host part of a Host value ("[::1]:9901" → "[::1]", "LocalHost" → "LocalHost"); nullopt
// when what follows it is not ":" and digits.
std::optional<std::string_view> host_part(std::string_view value) {
  std::string_view host = value, rest;
  if (value.starts_with('[')) {
    auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = value.substr(0, close + 1);
    rest = value.substr(close + 1);
  } else if (auto colon = value.find(':'); colon != std::string_view::npos) {
    host = value.substr(0, colon);
    rest = value.substr(colon);
  }
  if (!rest.empty()) {
    auto port = rest.substr(1);
    if (rest.front() != ':' || port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  return host;
}

bool is_json(std::string_view content_type) {
  return iequals(trim(content_type.substr(0, content_type.find(';'))), "application/json");
}

}  // namespace

bool is_local_host(std::string_view value, std::string_view listener_host) {
  auto host = host_part(trim(value));
  if (!host) return false;
  static constexpr std::array<std::string_view, 3> loopback = {"localhost", "127.0.0.1", "[::1]"};
  if (std::any_of(loopback.begin(), loopback.end(), [&](auto l) { return iequals(*host, l); }))
    return true;
  // The unspecified address is where the listener binds, not a name a client could mean it by.
  if (listener_host.empty() || listener_host == "0.0.0.0" || listener_host == "::") return false;
  // An IPv6 literal appears in brackets in a Host header.
  if (listener_host.find(':') != std::string_view::npos)
    return host->size() == listener_host.size() + 2 && host->front() == '[' &&
           iequals(host->substr(1, listener_host.size()), listener_host);
  return iequals(*host, listener_host);
}

std::optional<admin_refusal> check_admin_request(const admin_request_view& req,
                                                 std::string_view listener_host) {
  const bool changes_state = req.method != http::verb::get && req.method != http::verb::head;
  if (!req.host && (req.version >= 11 || changes_state))
    return admin_refusal{400, "missing Host header\n"};
  if (req.has_origin)
    return admin_refusal{403, "requests with an Origin header (from web pages) are refused\n"};
  if (!changes_state) return std::nullopt;
  if (!is_local_host(*req.host, listener_host))
    return admin_refusal{
        403, "Host must be localhost, 127.0.0.1, [::1] or the admin listener's address\n"};
  if (!req.content_type || !is_json(*req.content_type))
    return admin_refusal{415, "send Content-Type: application/json\n"};
  return std::nullopt;
}

std::optional<unsigned> status_for_read_error(const boost::system::error_code& ec) {
  if (ec == http::error::header_limit) return 431;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::buffer_overflow) return 400;
  // Closed by the client (before or inside a message): nobody to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return std::nullopt;
  if (ec.category() == http::make_error_code(http::error::bad_target).category()) return 400;
  return std::nullopt;
}

}  // namespace modelgate::proxy
