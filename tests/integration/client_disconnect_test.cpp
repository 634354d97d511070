// Clients that half-close or reset their connection at each stage of an exchange: the proxy
// answers a half-closed client, drops a reset one without forwarding a partial request, counts
// the aborts, and keeps serving everyone else. (An upstream cut mid-response is in
// streaming_test.cpp.)

#include "tests/integration/proxy_fixture.hpp"

#include <thread>

namespace {

ts::request post_with_length(std::string_view target, std::size_t length) {
  ts::request req{http::verb::post, target, 11};
  req.set(http::field::content_length, std::to_string(length));
  return req;
}

}  // namespace

// RFC 9112 §9.6 only says how a side closes; a client's half-close after a complete request
// need not withdraw it. With `on_client_close: finish` the response is sent (HAProxy's default).
TEST_F(ProxyTest, HalfClosedClientStillGetsItsResponseWhenTheRouteSaysFinish) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "late answer\n").with_delay(300ms));
  auto cfg = config();
  cfg.tls = false;
  cfg.route_yaml = ", on_client_close: finish";
  start(cfg);
  const double aborts = metric("modelgate_client_aborts_total");

  auto c = ts::http_client::connect(proxy->listener_port(0));
  c.write_raw("POST /v1/slow HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  c.shutdown_write();  // before the upstream has answered
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "late answer\n");
  EXPECT_EQ(upstream.last_request().body, "hello");
  // Nothing more can come from the client: the proxy closes after the response.
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(metric("modelgate_client_aborts_total"), aborts);
}

TEST_F(ProxyTest, HalfClosedTlsClientStillGetsItsResponseWhenTheRouteSaysFinish) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "late answer\n").with_delay(300ms));
  auto cfg = config();
  cfg.route_yaml = ", on_client_close: finish";
  start(cfg);
  auto c = client();
  c.send({http::verb::get, "/v1/slow", 11});
  c.shutdown_write();  // TCP FIN without close_notify
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "late answer\n");
  EXPECT_TRUE(c.wait_closed(2s));
}

// RFC 9112 §8: a server that receives an incomplete request MAY send an error response before
// closing; a half-closed client can still read it.
TEST_F(ProxyTest, HalfCloseMidBodyGets400AndForwardsNothing) {
  auto cfg = config();
  cfg.tls = false;
  start(cfg);
  auto c = ts::http_client::connect(proxy->listener_port(0));
  c.write_raw("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly part");
  c.shutdown_write();
  EXPECT_EQ(c.read_response().result_int(), 400);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 0u);
}

TEST_F(ProxyTest, ResetMidRequestIsCountedAndForwardsNothing) {
  start();
  const double aborts = metric("modelgate_client_aborts_total");
  {
    auto c = client();
    c.write_raw("GET /v1/x HTTP/1.1\r\nHost: a\r\nX-Half: ");  // in the header
    // A reset purges what the proxy has not read yet: give it time to see the bytes, or it is
    // a connection that never sent anything (closed quietly, not an abort).
    std::this_thread::sleep_for(200ms);
    c.reset();
  }
  {
    auto c = client();
    c.send(post_with_length("/v1/x", 1 << 20));
    c.write_raw(std::string(64 * 1024, 'b'));  // a sixteenth of the body
    std::this_thread::sleep_for(200ms);
    c.reset();
  }
  EXPECT_TRUE(ts::eventually(
      [&] { return metric("modelgate_client_aborts_total") >= aborts + 2; }))
      << "aborts: " << metric("modelgate_client_aborts_total") - aborts;
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_downstream_connections") == 0; }));
  EXPECT_EQ(upstream.requests(), 0u);
  EXPECT_EQ(client().get("/v1/after").result_int(), 200);
}

// A client that resets while the upstream works on its request: the upstream request is
// cancelled (its connection closed) long before the answer would come, whatever the route says.
TEST_F(ProxyTest, ResetWhileTheUpstreamWorksCancelsTheUpstreamRequest) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "for nobody\n").with_delay(4s));
  auto cfg = config();
  cfg.route_yaml = ", on_client_close: finish";
  start(cfg);
  const double aborts = metric("modelgate_client_aborts_total");
  auto c = client();
  c.send({http::verb::get, "/v1/slow", 11});
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 1; }));
  const auto reset_at = std::chrono::steady_clock::now();
  c.reset();
  // Others are served meanwhile.
  EXPECT_EQ(client().get("/v1/other").result_int(), 200);
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_client_aborts_total") >= aborts + 1; }, 2s));
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_upstream_connections") <= 1; }, 2s))
      << "the upstream connection of the abandoned request is still open";
  EXPECT_LT(std::chrono::steady_clock::now() - reset_at, 3s) << "noticed only when the answer came";
  EXPECT_EQ(metric(R"(modelgate_requests_total{code="4xx"})"), 1) << "counted as 499";
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_downstream_connections") == 0; }));
}

// By default (`on_client_close: abort`) a client that closes its side while waiting has given up,
// as nginx and Envoy take it: the upstream request is cancelled, nothing is answered, and the
// backend stops generating for nobody. The access log says 499.
TEST_F(ProxyTest, ClientThatClosesWhileTheUpstreamWorksCancelsItByDefault) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "for nobody\n").with_delay(4s));
  auto cfg = config();
  cfg.tls = false;
  start(cfg);
  const double aborts = metric("modelgate_client_aborts_total");
  auto c = ts::http_client::connect(proxy->listener_port(0));
  c.write_raw("POST /v1/slow HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello");
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 1; }));
  const auto closed_at = std::chrono::steady_clock::now();
  c.shutdown_write();  // what close() sends too; the socket stays open to see the proxy's answer
  EXPECT_TRUE(c.wait_closed(2s)) << "the proxy kept the connection";
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_client_aborts_total") >= aborts + 1; }, 2s));
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_upstream_connections") == 0; }, 2s))
      << "the upstream connection of the abandoned request is still open";
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, 3s) << "noticed only when the answer came";
  EXPECT_TRUE(ts::eventually([&] { return proxy->stdout_log().find("\"status\":499") != std::string::npos; }))
      << proxy->stdout_log();
  EXPECT_EQ(ts::http_client::connect(proxy->listener_port(0)).get("/v1/after").result_int(), 200);
}

TEST_F(ProxyTest, ResetMidResponseAbortsTheUpstreamAndOthersAreServed) {
  upstream.on("/v1/long", ts::upstream_behaviour::sse(500, 10ms));
  start();
  const double aborts = metric("modelgate_client_aborts_total");
  std::vector<ts::http_client> streams;
  for (int i = 0; i < 8; ++i) {
    streams.push_back(client());
    streams.back().send({http::verb::get, "/v1/long", 11});
    ts::streamed_response s;
    streams.back().read_header(s);
    ASSERT_EQ(s.header.result_int(), 200);
    ASSERT_TRUE(streams.back().read_piece(s));
  }
  for (auto& s : streams) s.reset();
  EXPECT_TRUE(ts::eventually(
      [&] { return metric("modelgate_client_aborts_total") >= aborts + 8; }, 3s));
  // The upstream streams would last 5 s; each must see its connection closed long before.
  EXPECT_TRUE(ts::eventually([&] { return upstream.aborted_writes() >= 8; }, 3s));
  EXPECT_TRUE(ts::eventually([&] { return upstream.open_connections() == 0; }, 3s));
  auto c = client();
  EXPECT_EQ(c.get("/v1/after").result_int(), 200);
  EXPECT_TRUE(proxy->running());
}
