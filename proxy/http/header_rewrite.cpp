#include "proxy/http/header_rewrite.hpp"

#include <boost/beast/core/string.hpp>

#include <array>
#include <iterator>
#include <vector>

namespace modelgate::proxy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(token) for each comma-separated token of a list header.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto token = trim(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

void strip_hop_by_hop(http::fields& fields, bool keep_transfer_encoding) {
  // Headers named by Connection are hop-by-hop too; collect before erasing Connection itself.
  std::vector<std::string> named;
  for (auto it = fields.find(http::field::connection); it != fields.end() && it->name() == http::field::connection; ++it) {
    for_each_token(it->value(), [&](std::string_view t) { named.emplace_back(t); });
  }
  for (const auto& name : named) {
    if (keep_transfer_encoding && boost::beast::iequals(name, "transfer-encoding")) continue;
    if (boost::beast::iequals(name, "host") || boost::beast::iequals(name, "content-length"))
      continue;
    fields.erase(name);
  }
  static constexpr std::array fixed = {
      http::field::connection,         http::field::keep_alive,  http::field::proxy_connection,
      http::field::te,                 http::field::trailer,     http::field::upgrade,
      http::field::proxy_authenticate, http::field::proxy_authorization,
  };
  for (auto f : fixed) fields.erase(f);
  if (!keep_transfer_encoding) fields.erase(http::field::transfer_encoding);
}

std::optional<proxy_errc> check_request_framing(const http::fields& fields) {
  std::optional<std::string_view> length;
  for (auto it = fields.find(http::field::content_length);
       it != fields.end() && it->name() == http::field::content_length; ++it) {
    auto value = trim(it->value());
    if (value.empty()) return proxy_errc::ambiguous_framing;
    for (char c : value)
      if (c < '0' || c > '9') return proxy_errc::ambiguous_framing;
    if (length && *length != value) return proxy_errc::ambiguous_framing;
    length = value;
  }
  auto te_count = fields.count(http::field::transfer_encoding);
  if (te_count == 0) return std::nullopt;
  if (length) return proxy_errc::ambiguous_framing;
  if (te_count > 1) return proxy_errc::ambiguous_framing;
  auto te = fields.find(http::field::transfer_encoding)->value();
  // Only a plain "chunked" is accepted: anything else is an unknown coding or an obfuscation.
  if (!boost::beast::iequals(te, "chunked")) return proxy_errc::unsupported_encoding;
  return std::nullopt;
}

std::optional<proxy_errc> check_request_header(const http::request_header<>& header) {
  if (auto e = check_request_framing(header)) return e;
  const bool coded = header.count(http::field::transfer_encoding) > 0;
  if (coded && header.version() < 11) return proxy_errc::ambiguous_framing;
  // Routing reads the first Host; an upstream may read another.
  const auto hosts = header.count(http::field::host);
  if (hosts > 1) return proxy_errc::bad_request;
  if (hosts == 0 && header.version() >= 11) return proxy_errc::missing_host;
  if (header.method() == http::verb::trace) {
    auto length = trim(header[http::field::content_length]);
    if (coded || length.find_first_not_of('0') != std::string_view::npos)
      return proxy_errc::bad_request;
  }
  return std::nullopt;
}

void drop_trailer_fields(http::fields& fields, const http::fields& header_section) {
  // Trailers only add fields, but Beast files a repeated name next to its namesakes rather than
  // at the end: restore the copy instead of cutting a tail.
  if (std::distance(fields.begin(), fields.end()) !=
      std::distance(header_section.begin(), header_section.end()))
    fields = header_section;
}

void prepare_upstream_request(http::fields& fields, const forward_context& ctx) {
  strip_hop_by_hop(fields, /*keep_transfer_encoding=*/false);
  fields.erase(http::field::expect);
  if (ctx.trusted_peer) {
    auto xff = fields.find("x-forwarded-for");
    if (xff != fields.end() && !trim(xff->value()).empty()) {
      std::string value(trim(xff->value()));
      value += ", ";
      value += ctx.client_ip;
      fields.set("x-forwarded-for", value);
    } else {
      fields.set("x-forwarded-for", ctx.client_ip);
    }
    if (fields.count("x-forwarded-proto") == 0) fields.set("x-forwarded-proto", ctx.tls ? "https" : "http");
    if (fields.count("x-real-ip") == 0) fields.set("x-real-ip", ctx.client_ip);
  } else {
    fields.set("x-forwarded-for", ctx.client_ip);
    fields.set("x-real-ip", ctx.client_ip);
    fields.set("x-forwarded-proto", ctx.tls ? "https" : "http");
    fields.erase("x-forwarded-host");
    fields.erase(http::field::forwarded);
  }
  fields.set("x-request-id", ctx.request_id);
  if (ctx.client_cert.empty()) fields.erase("x-forwarded-client-cert");
  else fields.set("x-forwarded-client-cert", ctx.client_cert);
}

std::string format_request_id(std::uint64_t hi, std::uint64_t lo) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[15 - i] = digits[(hi >> (4 * i)) & 0xf];
    out[31 - i] = digits[(lo >> (4 * i)) & 0xf];
  }
  return out;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

}  // namespace modelgate::proxy
