// The downstream request path without sockets: bytes → Beast's request parser with the proxy's
// limits (scaled down) → check_request_head() as proxy/http/exchange.cpp calls it (framing, Host,
// request-target, body limit) → route, model and hash keys → the upstream rewrite. Up to four
// pipelined requests run per input, as on one keep-alive connection.
//
// Beyond "no crash, no sanitizer report", what would be a security bug if broken:
//  - a request with both Content-Length and Transfer-Encoding, differing Content-Lengths, or a
//    Transfer-Encoding in HTTP/1.0 (RFC 9112 §6.1, §6.3) is never accepted;
//  - an accepted request, rewritten, serialised and parsed again by a fresh parser, is exactly one
//    request with the same method, target and body; it has no hop-by-hop field, exactly one of
//    Content-Length / chunked when it has a body, one Host at most, and no field the client did
//    not send in its header section (the proxy's own X-Forwarded-*, x-request-id and framing
//    aside): nothing smuggled in through chunked trailers.

#include "proxy/http/header_rewrite.hpp"
#include "proxy/http/request_head.hpp"
#include "proxy/http/request_target.hpp"
#include "proxy/routing/request_keys.hpp"
#include "proxy/routing/route_table.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace http = boost::beast::http;
namespace config = modelgate::config;
namespace proxy = modelgate::proxy;
using request_parser = http::request_parser<http::string_body>;
using boost::beast::iequals;

// config::limits defaults are 16 KiB of header and 8 MiB of body; smaller keeps runs fast.
constexpr std::uint32_t max_header_bytes = 4 * 1024;
constexpr std::uint64_t max_body_bytes = 64 * 1024;
constexpr std::string_view client_ip = "203.0.113.7";
constexpr std::string_view verified_cert = "Hash=ab12;Subject=\"CN=alice\"";

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "invariant broken: %s\n", what);
  std::abort();
}

// Prefix, exact path, host, header and model routes, in the order a config would list them.
const proxy::route_table& routes() {
  static const proxy::route_table table = [] {
    std::vector<config::route> r(6);
    r[0].path_prefix = "/v2/models/";
    r[0].models = {"resnet", "bert"};
    r[1].path = "/health";
    r[1].host = "api.example.com";
    r[2].path_prefix = "/v1/";
    r[2].header = config::header_match{"x-tenant", "blue"};
    r[3].path_prefix = "/v1/";
    r[3].models = {"gpt-small"};
    r[4].path_prefix = "/v1/";
    r[4].host = "internal.example";
    r[5].path_prefix = "/v1/";
    return proxy::route_table(r);
  }();
  return table;
}

enum class read_status { done, incomplete, failed };

// Feeds `in` to the parser until the header (or the whole message) is in, as Beast's read
// algorithms do over a socket that delivered exactly these bytes and then went quiet.
read_status feed(request_parser& p, std::string_view& in, bool header_only) {
  auto reached = [&] { return header_only ? p.is_header_done() : p.is_done(); };
  while (!reached()) {
    boost::system::error_code ec;
    auto n = p.put(boost::asio::buffer(in.data(), in.size()), ec);
    in.remove_prefix(n);
    if (ec == http::error::need_more) {
      if (n == 0) return read_status::incomplete;
      continue;
    }
    if (ec) return read_status::failed;
    if (n == 0 && !reached()) return read_status::incomplete;
  }
  return read_status::done;
}

using field_list = std::vector<std::pair<std::string, std::string>>;

field_list fields_of(const http::fields& f) {
  field_list out;
  for (const auto& h : f) out.emplace_back(h.name_string(), h.value());
  return out;
}

bool has_field(const field_list& fields, std::string_view name, std::string_view value) {
  return std::any_of(fields.begin(), fields.end(), [&](const auto& kv) {
    return iequals(kv.first, name) && kv.second == value;
  });
}

// Independent of check_request_framing(): what RFC 9112 §6.3 calls an ambiguous length.
bool ambiguous_framing(const http::request_header<>& h) {
  std::set<std::string> lengths;
  std::size_t te = 0;
  for (const auto& f : h) {
    if (iequals(f.name_string(), "content-length")) lengths.emplace(f.value());
    if (iequals(f.name_string(), "transfer-encoding")) ++te;
  }
  if (te > 0 && !lengths.empty()) return true;
  if (lengths.size() > 1) return true;
  // HTTP/1.0 with a transfer coding: faulty framing (§6.1).
  return te > 0 && h.version() < 11;
}

std::vector<std::string> connection_options(const http::fields& f) {
  std::vector<std::string> out;
  for (auto it = f.find(http::field::connection); it != f.end() && it->name() == http::field::connection;
       ++it) {
    std::string_view list = it->value();
    while (!list.empty()) {
      auto comma = list.find(',');
      auto token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (!token.empty()) out.emplace_back(token);
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return out;
}

bool proxy_sets(std::string_view name) {
  for (std::string_view own : {"x-forwarded-for", "x-forwarded-proto", "x-request-id", "content-length",
                               "x-forwarded-client-cert", "x-real-ip"})
    if (iequals(name, own)) return true;
  return false;
}

// End-to-end fields a Connection option cannot remove: routing needs Host, framing Content-Length.
bool end_to_end(std::string_view name) { return iequals(name, "host") || iequals(name, "content-length"); }

// Hop-by-hop fields, and Expect: the proxy has read the body already.
bool never_forwarded(std::string_view name) {
  for (std::string_view h : {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                             "upgrade", "proxy-authenticate", "proxy-authorization",
                             "transfer-encoding", "expect"})
    if (iequals(name, h)) return true;
  return false;
}

// Every hash key kind a consistent-hash pool can be configured with.
void hash_keys(const proxy::request_view& view) {
  using source = config::hash_key::source;
  for (auto from : {source::header, source::cookie, source::api_key, source::json_field,
                    source::prompt_prefix, source::client_ip}) {
    config::hash_key k{from, from == source::cookie ? "session" : "x-session", 0};
    if (from == source::json_field) k.name = "user";
    if (from == source::prompt_prefix) k.length = 16;
    auto key = proxy::hash_key_of(k, view);
    if (from == source::prompt_prefix && key) check(key->size() <= 16, "prompt prefix within length");
  }
  (void)proxy::presented_api_key(view.headers);
}

// The rewritten request as the upstream receives it, parsed again from its bytes.
void check_upstream(const http::request<http::string_body>& up, const field_list& header,
                    const std::vector<std::string>& options, const std::string& method,
                    const std::string& target, const std::string& body,
                    const std::string& request_id, bool tls, bool trusted_peer) {
  std::ostringstream wire;
  wire << up;
  const std::string bytes = wire.str();
  request_parser again;
  again.header_limit(UINT32_MAX);
  again.body_limit(boost::none);
  std::string_view rest = bytes;
  check(feed(again, rest, false) == read_status::done, "the upstream request parses");
  check(rest.empty(), "the upstream bytes are exactly one request");
  const auto& m = again.get();
  check(m.method_string() == method, "same method upstream");
  check(m.target() == target, "same target upstream");
  check(m.body() == body, "same body upstream");

  std::size_t hosts = 0, lengths = 0;
  for (const auto& f : m) {
    auto name = f.name_string();
    check(!never_forwarded(name), "no hop-by-hop field upstream");
    check(proxy_sets(name) || has_field(header, name, f.value()),
          "every upstream field came from the client's header section");
    for (const auto& o : options)
      check(proxy_sets(name) || end_to_end(name) || !iequals(name, o),
            "fields named in Connection are removed");
    if (f.name() == http::field::host) ++hosts;
    if (f.name() == http::field::content_length) ++lengths;
  }
  check(hosts <= 1, "one Host at most upstream");
  check(lengths <= 1, "one Content-Length at most upstream");
  if (!body.empty()) check((lengths == 1) != m.chunked(), "a body has exactly one framing");
  check(m.count("x-request-id") == 1 && m["x-request-id"] == request_id, "one x-request-id");
  check(m["x-forwarded-proto"] == (tls ? "https" : "http"), "X-Forwarded-Proto set");
  // Only the proxy's own identity of a verified client certificate (set on odd n here) passes.
  check(tls ? m.count("x-forwarded-client-cert") == 1 && m["x-forwarded-client-cert"] == verified_cert
            : m.count("x-forwarded-client-cert") == 0,
        "X-Forwarded-Client-Cert is the proxy's only");
  auto xff = m["x-forwarded-for"];
  check(m.count("x-forwarded-for") == 1 && xff.ends_with(client_ip), "X-Forwarded-For appended");
  // Only a trusted proxy's forwarding headers pass; a client's are replaced or removed.
  if (!trusted_peer) {
    check(xff == client_ip && m["x-real-ip"] == client_ip, "a client's X-Forwarded-For/X-Real-IP replaced");
    check(m.count("forwarded") == 0 && m.count("x-forwarded-host") == 0,
          "a client's Forwarded/X-Forwarded-Host removed");
  }
}

// One request as read_and_forward() handles it; true when the connection would read another.
bool exchange(std::string_view& in, std::uint64_t n) {
  request_parser p;
  p.header_limit(max_header_bytes);
  p.body_limit(max_body_bytes);
  // A parse error or a stall is answered (or dropped) and the connection closed.
  if (feed(p, in, true) != read_status::done) return false;
  auto& req = p.get();
  std::string request_id = proxy::acceptable_request_id(req["x-request-id"])
                               ? std::string(req["x-request-id"])
                               : proxy::format_request_id(0, n);
  // The proxy's own head checks (framing, Host, target; absolute-form made origin-form).
  if (proxy::check_request_head(p, max_body_bytes)) return false;
  check(req.target() == "*" || (req.target().starts_with('/') && proxy::path_is_canonical(req.target())),
        "an accepted target is origin-form without dot-segments or encoded separators");
  std::optional<http::fields> header_section;
  if (req.chunked()) header_section.emplace(req);
  const field_list header = fields_of(req);
  const bool ambiguous = ambiguous_framing(req);
  if (feed(p, in, false) != read_status::done) return false;
  if (header_section) proxy::drop_trailer_fields(req, *header_section);
  check(!ambiguous, "ambiguous framing is never accepted");

  proxy::lazy_json json(req.body());
  const proxy::request_view view{req.target(), req, client_ip, json};
  proxy::route_input route_in{req.target(), req[http::field::host], &req, std::nullopt};
  std::optional<std::string> model;
  if (routes().needs_model() && (model = proxy::requested_model(view))) route_in.model = *model;
  auto route = routes().match(route_in);
  hash_keys(view);
  const bool keep = req.keep_alive();
  if (!route) return keep;  // 404, and the connection carries on

  const std::string method(req.method_string()), target(req.target()), body(req.body());
  const auto options = connection_options(req);
  const bool tls = n % 2 == 1;
  proxy::forward_context ctx{client_ip, tls, request_id, tls ? verified_cert : std::string_view()};
  ctx.trusted_peer = n >= 2;  // the first two requests come from a client, the others a proxy
  proxy::prepare_upstream_request(req, ctx);
  req.version(11);
  req.prepare_payload();
  check_upstream(req, header, options, method, target, body, request_id, tls, ctx.trusted_peer);
  return keep;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (std::uint64_t n = 0; n < 4 && !in.empty(); ++n)
    if (!exchange(in, n)) break;
  return 0;
}
