// Requests through the proxy over TLS: round trip, forwarded headers, routing, keep-alive.

#include <algorithm>

#include "tests/integration/proxy_fixture.hpp"

TEST_F(ProxyTest, TlsRoundTripWithCertificatesMadeAtTestTime) {
  upstream.on("/v1/hello", ts::upstream_behaviour::fixed(200, "hello from upstream"));
  start();
  auto c = client();
  EXPECT_EQ(c.alpn(), "http/1.1");
  auto res = c.get("/v1/hello");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "hello from upstream");
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_EQ(upstream.last_request().target, "/v1/hello");
}

TEST_F(ProxyTest, RequestBodyAndQueryReachTheUpstream) {
  start();
  auto c = client();
  auto res = c.post("/v1/completions?stream=false", R"({"prompt":"hi"})",
                    {{"Content-Type", "application/json"}});
  EXPECT_EQ(res.result_int(), 200);
  auto r = upstream.last_request();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/v1/completions?stream=false");
  EXPECT_EQ(r.body, R"({"prompt":"hi"})");
  EXPECT_EQ(r.value("content-type"), "application/json");
}

TEST_F(ProxyTest, ForwardedHeadersAreSetAndHopByHopHeadersDropped) {
  upstream.on("/v1/echo", ts::upstream_behaviour::echo_headers());
  start();
  auto c = client();
  auto res = c.get(
      "/v1/echo",
      {{"Connection", "foo"}, {"foo", "bar"}, {"Keep-Alive", "timeout=5"}, {"X-Custom", "kept"}});
  ASSERT_EQ(res.result_int(), 200);
  auto r = upstream.last_request();
  EXPECT_EQ(r.value("x-forwarded-for"), "127.0.0.1");
  EXPECT_EQ(r.value("x-forwarded-proto"), "https");
  EXPECT_EQ(r.value("x-custom"), "kept");
  EXPECT_FALSE(r.has("foo")) << "a header named in Connection is hop-by-hop";
  EXPECT_FALSE(r.has("keep-alive"));
  for (const auto& v : r.values("connection"))
    EXPECT_EQ(v.find("foo"), std::string::npos) << "Connection: " << v;

  // Generated when absent, the same value both ways.
  ASSERT_EQ(r.values("x-request-id").size(), 1u);
  std::string id = r.value("x-request-id");
  EXPECT_FALSE(id.empty());
  EXPECT_EQ(std::string(res["x-request-id"]), id);
}

TEST_F(ProxyTest, RequestIdIsPreservedWhenGiven) {
  upstream.on("/v1/echo", ts::upstream_behaviour::echo_headers());
  start();
  auto c = client();
  auto res = c.get("/v1/echo", {{"x-request-id", "abc-123"}});
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(upstream.last_request().values("x-request-id"), std::vector<std::string>{"abc-123"});
  EXPECT_EQ(std::string(res["x-request-id"]), "abc-123");
}

TEST_F(ProxyTest, GeneratedRequestIdsDiffer) {
  start();
  auto c = client();
  auto a = std::string(c.get("/v1/a")["x-request-id"]);
  auto b = std::string(c.get("/v1/b")["x-request-id"]);
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
}

TEST_F(ProxyTest, NoMatchingRouteIs404AndNeverReachesTheUpstream) {
  start();
  auto c = client();
  auto res = c.get("/not-routed");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(upstream.connections(), 0u);
}

TEST_F(ProxyTest, KeepAliveReusesClientAndUpstreamConnections) {
  start();
  auto c = client();
  constexpr std::size_t n = 10;
  for (std::size_t i = 0; i < n; ++i) {
    auto res = c.get("/v1/ping");
    ASSERT_EQ(res.result_int(), 200) << "request " << i;
    ASSERT_TRUE(res.keep_alive()) << "request " << i;
  }
  EXPECT_EQ(upstream.requests(), n);
  // One client connection, sequential requests: one pooled upstream connection (two if a
  // release raced the next request).
  EXPECT_LE(upstream.connections(), 2u);
}

TEST_F(ProxyTest, UpstreamConnectionsOutliveClientConnections) {
  start();
  constexpr std::size_t n = 8;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = client();
    ASSERT_EQ(c.get("/v1/ping").result_int(), 200) << "client " << i;
  }
  EXPECT_EQ(upstream.requests(), n);
  // Pools are per worker (2 workers), so at most one connection each, plus a possible race.
  EXPECT_LE(upstream.connections(), 3u);
}

TEST_F(ProxyTest, PlainListenerForwardsProtoHttp) {
  upstream.on("/v1/echo", ts::upstream_behaviour::echo_headers());
  auto cfg = config();
  cfg.tls = false;
  start(cfg);
  auto c = ts::http_client::connect(proxy->listener_port(0));
  ASSERT_EQ(c.get("/v1/echo").result_int(), 200);
  EXPECT_EQ(upstream.last_request().value("x-forwarded-proto"), "http");
}

TEST_F(ProxyTest, ClientWithoutTheCaCannotConnect) {
  start();
  auto other = ts::make_test_certs(dir.path(), "other-");
  EXPECT_THROW(ts::http_client::connect_tls(proxy->listener_port(0), other.ca_cert),
               boost::system::system_error);
  // The failed handshake did not disturb the listener.
  EXPECT_EQ(client().get("/v1/x").result_int(), 200);
}
