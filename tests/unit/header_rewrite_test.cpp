#include "proxy/http/header_rewrite.hpp"

#include <gtest/gtest.h>

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

  http::fields g;
  g.set("X-Forwarded-For", "1.2.3.4");
  g.set("X-Forwarded-Proto", "https");  // a client cannot claim TLS it did not use
  prepare_upstream_request(g, {"10.0.0.7", false, "id"});
  EXPECT_EQ(g["x-forwarded-for"], "1.2.3.4, 10.0.0.7");
  EXPECT_EQ(g["x-forwarded-proto"], "http");
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

TEST(HeaderRewrite, RequestIds) {
  EXPECT_EQ(format_request_id(0, 0), std::string(32, '0'));
  EXPECT_EQ(format_request_id(0x0123456789abcdefULL, 0xfedcba9876543210ULL),
            "0123456789abcdeffedcba9876543210");
  EXPECT_TRUE(acceptable_request_id("req-42"));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id("has space"));
  EXPECT_FALSE(acceptable_request_id(std::string(129, 'a')));
}
