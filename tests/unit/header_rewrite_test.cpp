#include "proxy/http/header_rewrite.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <optional>
#include <string_view>

using namespace modelgate::proxy;
namespace http = boost::beast::http;

TEST(HeaderRewrite, DropsHopByHopAndConnectionNamedHeaders) {
  http::fields f;
  f.set(http::field::connection, "keep-alive, X-Secret , foo");
  f.set(http::field::keep_alive, "timeout=5");
  f.set("x-secret", "1");
  f.set("foo", "bar");
  f.set(http::field::te, "trailers");
  f.set(http::field::upgrade, "websocket");
  f.set(http::field::proxy_authorization, "Basic x");
  f.set(http::field::transfer_encoding, "chunked");
  f.set("x-keep", "yes");
  strip_hop_by_hop(f, false);
  for (auto name : {"connection", "keep-alive", "x-secret", "foo", "te", "upgrade",
                    "proxy-authorization", "transfer-encoding"})
    EXPECT_EQ(f.count(name), 0u) << name;
  EXPECT_EQ(f["x-keep"], "yes");
}

TEST(HeaderRewrite, KeepsTransferEncodingForRelayedChunkedBodies) {
  http::fields f;
  f.set(http::field::transfer_encoding, "chunked");
  f.set(http::field::connection, "transfer-encoding");
  strip_hop_by_hop(f, true);
  EXPECT_EQ(f[http::field::transfer_encoding], "chunked");
}

TEST(HeaderRewrite, ForwardingHeaders) {
  http::fields f;
  f.set(http::field::expect, "100-continue");
  prepare_upstream_request(f, {"10.0.0.7", true, "abc"});
  EXPECT_EQ(f["x-forwarded-for"], "10.0.0.7");
  EXPECT_EQ(f["x-forwarded-proto"], "https");
  EXPECT_EQ(f["x-request-id"], "abc");
  EXPECT_EQ(f.count(http::field::expect), 0u);

  // From an untrusted client, its own forwarding headers are replaced or dropped: a backend
  // reading the first X-Forwarded-For address, X-Real-IP or Forwarded would believe the forgery.
  http::fields g;
  g.set("X-Forwarded-For", "1.2.3.4");
  g.set("X-Forwarded-Proto", "https");  // a client cannot claim TLS it did not use
  g.set("X-Real-IP", "1.2.3.4");
  g.set("X-Forwarded-Host", "admin.internal");
  g.set("Forwarded", "for=1.2.3.4;host=admin.internal");
  prepare_upstream_request(g, {"10.0.0.7", false, "id"});
  EXPECT_EQ(g["x-forwarded-for"], "10.0.0.7");
  EXPECT_EQ(g["x-forwarded-proto"], "http");
  EXPECT_EQ(g["x-real-ip"], "10.0.0.7");
  EXPECT_EQ(g.count("x-forwarded-host"), 0u);
  EXPECT_EQ(g.count("forwarded"), 0u);
}

TEST(HeaderRewrite, ATrustedProxysForwardingHeadersAreKept) {
  http::fields f;
  f.set("X-Forwarded-For", "1.2.3.4");
  f.set("X-Forwarded-Proto", "https");  // the proxy in front terminated TLS
  f.set("X-Real-IP", "1.2.3.4");
  f.set("X-Forwarded-Host", "api.example.com");
  f.set("Forwarded", "for=1.2.3.4;proto=https");
  forward_context ctx{"10.0.0.7", false, "id"};
  ctx.trusted_peer = true;
  prepare_upstream_request(f, ctx);
  EXPECT_EQ(f["x-forwarded-for"], "1.2.3.4, 10.0.0.7");
  EXPECT_EQ(f["x-forwarded-proto"], "https");
  EXPECT_EQ(f["x-real-ip"], "1.2.3.4");
  EXPECT_EQ(f["x-forwarded-host"], "api.example.com");
  EXPECT_EQ(f["forwarded"], "for=1.2.3.4;proto=https");

  http::fields bare;
  prepare_upstream_request(bare, ctx);
  EXPECT_EQ(bare["x-forwarded-for"], "10.0.0.7");
  EXPECT_EQ(bare["x-forwarded-proto"], "http");
  EXPECT_EQ(bare["x-real-ip"], "10.0.0.7");
}

// `Connection: host` once stripped Host, so the upstream routed on whatever it defaults to.
TEST(HeaderRewrite, ConnectionCannotNameHostOrContentLength) {
  http::fields f;
  f.set(http::field::host, "api.example.com");
  f.set(http::field::content_length, "5");
  f.set(http::field::connection, "host, content-length, x-other");
  f.set("x-other", "1");
  strip_hop_by_hop(f, false);
  EXPECT_EQ(f[http::field::host], "api.example.com");
  EXPECT_EQ(f[http::field::content_length], "5");
  EXPECT_EQ(f.count("x-other"), 0u);
}

TEST(HeaderRewrite, AnHttp11RequestNeedsExactlyOneHost) {
  http::request_header<> h;
  h.version(11);
  h.method(http::verb::get);
  EXPECT_EQ(check_request_header(h), proxy_errc::missing_host);
  h.version(10);
  EXPECT_EQ(check_request_header(h), std::nullopt);  // HTTP/1.0 may omit it
  h.version(11);
  h.insert(http::field::host, "a");
  EXPECT_EQ(check_request_header(h), std::nullopt);
  h.insert(http::field::host, "b");
  EXPECT_EQ(check_request_header(h), proxy_errc::bad_request);
}

// Only the proxy says which client certificate was verified.
TEST(HeaderRewrite, ClientCertificateIdentityIsTheProxysOnly) {
  http::fields forged;
  forged.insert("X-Forwarded-Client-Cert", "Hash=00;Subject=\"CN=admin\"");
  forged.insert("x-forwarded-client-cert", "Hash=01");
  prepare_upstream_request(forged, {"10.0.0.7", true, "id"});
  EXPECT_EQ(forged.count("x-forwarded-client-cert"), 0u);

  http::fields verified;
  verified.insert("X-Forwarded-Client-Cert", "Hash=00");
  prepare_upstream_request(verified, {"10.0.0.7", true, "id", "Hash=ab;Subject=\"CN=alice\""});
  EXPECT_EQ(verified.count("x-forwarded-client-cert"), 1u);
  EXPECT_EQ(verified["x-forwarded-client-cert"], "Hash=ab;Subject=\"CN=alice\"");
}

TEST(HeaderRewrite, FramingChecks) {
  auto check = [](std::initializer_list<std::pair<const char*, const char*>> headers) {
    http::fields f;
    for (auto [k, v] : headers) f.insert(k, v);
    return check_request_framing(f);
  };
  EXPECT_EQ(check({{"Content-Length", "5"}}), std::nullopt);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}}), std::nullopt);
  EXPECT_EQ(check({{"Transfer-Encoding", "Chunked"}}), std::nullopt);
  EXPECT_EQ(check({{"Content-Length", "5"}, {"Content-Length", "5"}}), std::nullopt);
  EXPECT_EQ(check({{"Content-Length", "5"}, {"Content-Length", "6"}}), proxy_errc::ambiguous_framing);
  EXPECT_EQ(check({{"Content-Length", "5"}, {"Transfer-Encoding", "chunked"}}),
            proxy_errc::ambiguous_framing);
  EXPECT_EQ(check({{"Content-Length", "+5"}}), proxy_errc::ambiguous_framing);
  EXPECT_EQ(check({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}}),
            proxy_errc::ambiguous_framing);
  EXPECT_EQ(check({{"Transfer-Encoding", "gzip, chunked"}}), proxy_errc::unsupported_encoding);
  EXPECT_EQ(check({{"Transfer-Encoding", "xchunked"}}), proxy_errc::unsupported_encoding);
}

// request_path_fuzz findings: each of these reached the upstream before (corpus seeds
// tests/fuzz/corpus/request_path/regression-*).
TEST(HeaderRewrite, RequestHeaderChecks) {
  auto check = [](http::verb method, unsigned version,
                  std::initializer_list<std::pair<const char*, const char*>> headers) {
    http::request_header<> h;
    h.method(method);
    h.version(version);
    for (auto [k, v] : headers) h.insert(k, v);
    return check_request_header(h);
  };
  using http::verb;
  EXPECT_EQ(check(verb::post, 11, {{"Host", "a"}, {"Content-Length", "5"}}), std::nullopt);
  EXPECT_EQ(check(verb::post, 10, {{"Content-Length", "5"}}), std::nullopt);
  EXPECT_EQ(check(verb::post, 11, {{"Host", "a"}, {"Content-Length", "5"}, {"Content-Length", "6"}}),
            proxy_errc::ambiguous_framing);
  // Routing read the first Host, an upstream may read the last.
  EXPECT_EQ(check(verb::get, 11, {{"Host", "a"}, {"Host", "internal"}}), proxy_errc::bad_request);
  EXPECT_EQ(check(verb::get, 11, {{"Host", "a"}, {"Host", "a"}}), proxy_errc::bad_request);
  // RFC 9112 §6.1: a transfer coding in HTTP/1.0 is faulty framing.
  EXPECT_EQ(check(verb::post, 10, {{"Transfer-Encoding", "chunked"}}), proxy_errc::ambiguous_framing);
  // A TRACE with content made prepare_payload() throw inside the exchange.
  EXPECT_EQ(check(verb::trace, 11, {{"Host", "a"}, {"Content-Length", "5"}}), proxy_errc::bad_request);
  EXPECT_EQ(check(verb::trace, 11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}}),
            proxy_errc::bad_request);
  EXPECT_EQ(check(verb::trace, 11, {{"Host", "a"}, {"Content-Length", "0"}}), std::nullopt);
  EXPECT_EQ(check(verb::trace, 11, {{"Host", "a"}}), std::nullopt);
}

// Beast's parser files chunked trailer fields among the header fields; none may be forwarded.
TEST(HeaderRewrite, TrailerFieldsAreDropped) {
  constexpr std::string_view wire =
      "POST /v1/x HTTP/1.1\r\nHost: a\r\nX-Tag: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n0\r\nHost: internal\r\nX-Tag: 2\r\nX-Api-Key: k\r\n\r\n";
  http::request_parser<http::string_body> p;
  boost::system::error_code ec;
  std::string_view rest = wire;
  rest.remove_prefix(p.put(boost::asio::buffer(rest.data(), rest.size()), ec));
  ASSERT_FALSE(ec);
  ASSERT_TRUE(p.is_header_done());
  std::optional<http::fields> header_section;
  header_section.emplace(p.get());
  while (!p.is_done() && !ec) rest.remove_prefix(p.put(boost::asio::buffer(rest.data(), rest.size()), ec));
  ASSERT_FALSE(ec) << ec.message();
  auto& req = p.get();
  ASSERT_EQ(req.count(http::field::host), 2u) << "the parser merged the trailer";
  drop_trailer_fields(req, *header_section);
  EXPECT_EQ(req.count(http::field::host), 1u);
  EXPECT_EQ(req[http::field::host], "a");
  EXPECT_EQ(req.count("x-tag"), 1u);
  EXPECT_EQ(req["x-tag"], "1");
  EXPECT_EQ(req.count("x-api-key"), 0u);
  EXPECT_EQ(req.body(), "hello");
  EXPECT_EQ(req.target(), "/v1/x");
  EXPECT_EQ(req.method(), http::verb::post);

  // Without trailers nothing changes.
  http::fields same;
  same.insert("Host", "a");
  drop_trailer_fields(same, same);
  EXPECT_EQ(same["host"], "a");
}

TEST(HeaderRewrite, RequestIds) {
  EXPECT_EQ(format_request_id(0, 0), std::string(32, '0'));
  EXPECT_EQ(format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "0123456789abcdeffedcba9876543210");
  EXPECT_TRUE(acceptable_request_id("req-42"));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id("has space"));
  EXPECT_FALSE(acceptable_request_id(std::string(129, 'a')));
}
