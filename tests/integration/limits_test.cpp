// Bad and oversized input: 413, 431, 408, request smuggling attempts → 400 and close.

#include "tests/integration/proxy_fixture.hpp"

namespace {

// Sends raw bytes and reads the proxy's answer, which must be followed by a close.
ts::response raw_exchange(ts::http_client& c, std::string_view bytes) {
  c.write_raw(bytes);
  return c.read_response();
}

}  // namespace

TEST_F(ProxyTest, BodyOverLimitIs413) {
  auto cfg = config();
  cfg.max_body_bytes = "1024";
  start(cfg);
  auto c = client();
  auto res = c.post("/v1/big", std::string(4096, 'x'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, ChunkedBodyOverLimitIs413) {
  auto cfg = config();
  cfg.max_body_bytes = "1024";
  start(cfg);
  auto c = client();
  std::string chunk(800, 'x');
  std::string req = "POST /v1/big HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) req += "320\r\n" + chunk + "\r\n";
  req += "0\r\n\r\n";
  auto res = raw_exchange(c, req);
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, BodyAtTheLimitPasses) {
  auto cfg = config();
  cfg.max_body_bytes = "1024";
  start(cfg);
  auto c = client();
  EXPECT_EQ(c.post("/v1/ok", std::string(1024, 'x')).result_int(), 200);
  EXPECT_EQ(upstream.last_request().body.size(), 1024u);
}

TEST_F(ProxyTest, HeadersOverLimitAre431) {
  auto cfg = config();
  cfg.max_header_bytes = "1024";
  start(cfg);
  auto c = client();
  auto res = c.get("/v1/x", {{"X-Big", std::string(2048, 'h')}});
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, SlowHeadersGet408AndClose) {
  auto cfg = config();
  cfg.header_timeout = "1s";
  start(cfg);
  auto c = client();
  auto begin = ts::steady_clock::now();
  c.write_raw("GET /v1/slow HTTP/1.1\r\nHost: a\r\n");
  // One header line every 200 ms: the connection is never idle, but the header never ends.
  for (int i = 0; !c.wait_readable(200ms) && ts::steady_clock::now() - begin < 4s; ++i)
    if (c.try_write_raw("X-Slow-" + std::to_string(i) + ": y\r\n")) break;
  auto res = c.read_response();
  auto took = ts::steady_clock::now() - begin;
  EXPECT_EQ(res.result_int(), 408);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 2500ms);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, ContentLengthWithTransferEncodingIs400AndClose) {
  start();
  auto c = client();
  auto res = raw_exchange(c,
                          "POST /v1/smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, ConflictingContentLengthsAre400AndClose) {
  start();
  auto c = client();
  auto res = raw_exchange(c,
                          "POST /v1/smuggle HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n"
                          "Content-Length: 6\r\n\r\nhello!");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, MalformedRequestLineIs400AndClose) {
  start();
  auto c = client();
  auto res = raw_exchange(c, "GET /v1/x HTTP/1.1 extra\r\nHost: a\r\n\r\n");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, IdleKeepAliveConnectionClosesAfterIdleTimeout) {
  auto cfg = config();
  cfg.idle_timeout = "1s";
  start(cfg);
  auto c = client();
  ASSERT_EQ(c.get("/v1/x").result_int(), 200);
  auto begin = ts::steady_clock::now();
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_GE(ts::steady_clock::now() - begin, 900ms);
}

TEST_F(ProxyTest, BadInputLeavesNoConnectionOpen) {
  auto cfg = config();
  cfg.max_body_bytes = "1024";
  cfg.max_header_bytes = "1024";
  start(cfg);
  {
    auto a = client();
    EXPECT_EQ(a.post("/v1/big", std::string(4096, 'x')).result_int(), 413);
    auto b = client();
    EXPECT_EQ(b.get("/v1/x", {{"X-Big", std::string(2048, 'h')}}).result_int(), 431);
    auto c = client();
    c.write_raw(
        "POST /v1/s HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab");
    EXPECT_EQ(c.read_response().result_int(), 400);
    auto d = client();
    d.write_raw("GET / HTTP/1.1\r\nHost: a\r\n");  // then go away mid-header
  }
  // Every downstream connection is gone once the clients are (the gauge is the lead's name).
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_downstream_connections") == 0; }, 2s))
      << metrics();
  auto c = client();
  EXPECT_EQ(c.get("/v1/still-fine").result_int(), 200);
}
