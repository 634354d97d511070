// Request smuggling and malformed framing (RFC 9112 §6.3, §5): every ambiguous or malformed
// request is answered 400 (501 for a transfer coding the proxy does not implement) and the
// connection closed, and nothing of it reaches the upstream.

#include "tests/integration/proxy_fixture.hpp"

namespace {

using namespace std::string_literals;

struct hostile_case {
  const char* name;
  std::string bytes;
};

std::string post(const std::string& headers, const std::string& body) {
  return "POST /v1/smuggle HTTP/1.1\r\nHost: a\r\n" + headers + "\r\n" + body;
}

// The request that follows the hostile one on the same connection: it must never be parsed.
const std::string follow_up = "GET /v1/after HTTP/1.1\r\nHost: a\r\n\r\n";

std::vector<hostile_case> hostile_requests() {
  const std::string chunked_hello = "5\r\nhello\r\n0\r\n\r\n";
  return {
      {"CL.TE", post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nG")},
      {"TE.CL", post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", chunked_hello)},
      {"conflicting CL", post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")},
      {"CL list", post("Content-Length: 5, 6\r\n", "hello!")},
      {"CL plus sign", post("Content-Length: +5\r\n", "hello")},
      {"CL negative", post("Content-Length: -1\r\n", "")},
      {"CL hex", post("Content-Length: 0x5\r\n", "hello")},
      {"CL trailing junk", post("Content-Length: 5x\r\n", "hello")},
      {"CL empty", post("Content-Length: \r\n", "")},
      {"TE obfuscated name", post("Transfer-Encoding : chunked\r\n", chunked_hello)},
      {"TE unknown coding", post("Transfer-Encoding: xchunked\r\n", chunked_hello)},
      {"TE chunked not last", post("Transfer-Encoding: chunked, identity\r\n", chunked_hello)},
      {"TE twice", post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunked_hello)},
      {"TE vertical tab", post("Transfer-Encoding:\x0b" "chunked\r\n", chunked_hello)},
      {"bad chunk size", post("Transfer-Encoding: chunked\r\n", "5;\r\nhello\r\n0\r\n\r\n-1\r\n")},
      {"chunk size overflow", post("Transfer-Encoding: chunked\r\n", "10000000000000005\r\nhello\r\n0\r\n\r\n")},
      {"bare LF", "POST /v1/smuggle HTTP/1.1\nHost: a\nContent-Length: 5\n\nhello"},
      {"bare CR", "POST /v1/smuggle HTTP/1.1\rHost: a\r\nContent-Length: 5\r\n\r\nhello"},
      {"NUL in value", post("X-Note: a\0b\r\nContent-Length: 5\r\n"s, "hello")},
      {"space in name", post("X Note: a\r\nContent-Length: 5\r\n", "hello")},
      {"no colon", post("X-Note\r\nContent-Length: 5\r\n", "hello")},
      {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"},
      {"bad version", "GET /v1/x HTTP/1.7\r\nHost: a\r\n\r\n"},
      // Found by request_path_fuzz (tests/fuzz/corpus/request_path/regression-*).
      {"two Host", post("Host: internal\r\nContent-Length: 5\r\n", "hello")},
      {"HTTP/1.0 chunked", "POST /v1/smuggle HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n"
                           "Transfer-Encoding: chunked\r\n\r\n" + chunked_hello},
      {"TRACE with body", "TRACE /v1/smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"},
  };
}

}  // namespace

TEST_F(ProxyTest, SmugglingAndMalformedFramingAreRefusedAndClosed) {
  start();
  for (const auto& hostile : hostile_requests()) {
    SCOPED_TRACE(hostile.name);
    auto c = client();
    c.write_raw(hostile.bytes + follow_up);
    auto res = c.read_response();
    EXPECT_TRUE(res.result_int() == 400 || res.result_int() == 501) << res.result_int();
    EXPECT_TRUE(c.wait_closed(2s)) << "the connection must close after a framing error";
  }
  EXPECT_EQ(upstream.requests(), 0u) << "no hostile request (or what followed it) was forwarded";
}

TEST_F(ProxyTest, LegitimateFramingVariantsAreForwarded) {
  start();
  auto c = client();
  // Identical repeated lengths may be folded into one (RFC 9112 §6.3 item 5), and transfer
  // codings are case-insensitive.
  c.write_raw(post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"));
  EXPECT_EQ(c.read_response().result_int(), 200);
  c.write_raw(post("Transfer-Encoding: CHUNKED\r\n", "5\r\nhello\r\n0\r\n\r\n"));
  EXPECT_EQ(c.read_response().result_int(), 200);
  c.write_raw(post("Content-Length:\t5 \r\n", "hello"));
  EXPECT_EQ(c.read_response().result_int(), 200);
  EXPECT_EQ(upstream.requests(), 3u);
}

// RFC 9112 §5.2 lets a server either reject obs-fold or replace it with spaces before
// forwarding; the parser does the latter, so no line break can reach the upstream inside a value.
TEST_F(ProxyTest, ObsFoldIsUnfoldedBeforeForwarding) {
  start();
  auto c = client();
  c.write_raw(post("X-Note: a\r\n b\r\nContent-Length: 5\r\n", "hello"));
  EXPECT_EQ(c.read_response().result_int(), 200);
  ASSERT_EQ(upstream.requests(), 1u);
  EXPECT_EQ(upstream.last_request().value("x-note"), "a b");
}

// Beast's parser files chunked trailer fields among the header fields: none may reach the
// upstream, where a second Host or a late API key would mean something (request_path_fuzz).
TEST_F(ProxyTest, TrailerFieldsAreNotForwarded) {
  start();
  auto c = client();
  c.write_raw(post("Transfer-Encoding: chunked\r\nX-Tag: 1\r\n",
                   "5\r\nhello\r\n0\r\nHost: internal\r\nX-Tag: 2\r\nX-Api-Key: k\r\n\r\n"));
  EXPECT_EQ(c.read_response().result_int(), 200);
  ASSERT_EQ(upstream.requests(), 1u);
  auto r = upstream.last_request();
  EXPECT_EQ(r.values("host"), std::vector<std::string>{"a"});
  EXPECT_EQ(r.values("x-tag"), std::vector<std::string>{"1"});
  EXPECT_FALSE(r.has("x-api-key"));
  EXPECT_EQ(r.body, "hello");
}
