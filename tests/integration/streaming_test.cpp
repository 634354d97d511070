// Streaming relay: SSE events as they arrive, an upstream dying mid-stream, a client leaving.

#include "tests/integration/proxy_fixture.hpp"

TEST_F(ProxyTest, SseFirstEventArrivesBeforeTheUpstreamFinishes) {
  upstream.on("/v1/stream", ts::upstream_behaviour::sse(10, 100ms));
  start();
  auto c = client();
  auto sent = ts::steady_clock::now();
  c.send({http::verb::get, "/v1/stream", 11});
  auto s = c.read_streaming();
  ASSERT_TRUE(s.complete) << s.error.message();
  EXPECT_EQ(s.header.result_int(), 200);
  EXPECT_EQ(s.header[http::field::content_type], "text/event-stream");
  ASSERT_FALSE(s.pieces.empty());
  auto first = s.pieces.front().at - sent;
  auto last = s.pieces.back().at - sent;
  EXPECT_LT(first, 500ms) << "first event buffered: arrived after "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(first).count()
                          << " ms";
  EXPECT_GE(last, 900ms);
  EXPECT_GE(s.pieces.size(), 5u) << "events should arrive spread over time, not in one piece";
  for (int i = 0; i < 10; ++i)
    EXPECT_NE(s.body().find("data: event " + std::to_string(i) + "\n\n"), std::string::npos) << i;
  EXPECT_FALSE(c.wait_readable(100ms))
      << "bytes after the end of the stream (a second last chunk?)";
  // The stream ended cleanly, so the connection serves another request.
  EXPECT_EQ(c.get("/v1/after").result_int(), 200);
}

TEST_F(ProxyTest, UpstreamClosingMidStreamClosesTheClientConnection) {
  upstream.on("/v1/cut", ts::upstream_behaviour::sse(10, 20ms).closing_after(3));
  start();
  auto c = client();
  c.send({http::verb::get, "/v1/cut", 11});
  auto s = c.read_streaming();
  EXPECT_EQ(s.header.result_int(), 200);
  EXPECT_FALSE(s.complete) << "a cut stream must not look complete (no last chunk)";
  EXPECT_TRUE(s.error);
  EXPECT_NE(s.body().find("event 2"), std::string::npos);
  EXPECT_EQ(s.body().find("event 3"), std::string::npos);
  EXPECT_TRUE(c.wait_closed(2s));
}

TEST_F(ProxyTest, ClientDisconnectMidStreamAbortsTheUpstreamRequest) {
  upstream.on("/v1/long", ts::upstream_behaviour::sse(250, 20ms));
  start();
  double aborts_before = metric("modelgate_client_aborts_total");
  auto c = client();
  c.send({http::verb::get, "/v1/long", 11});
  ts::streamed_response s;
  c.read_header(s);
  ASSERT_EQ(s.header.result_int(), 200);
  ASSERT_TRUE(c.read_piece(s));
  c.close();
  // The upstream would stream for 5 s; it must see its connection closed long before.
  EXPECT_TRUE(ts::eventually([&] { return upstream.aborted_writes() >= 1; }, 2s))
      << "upstream kept streaming to the proxy after the client left";
  EXPECT_TRUE(ts::eventually([&] { return upstream.open_connections() == 0; }, 2s))
      << "the aborted upstream connection must be closed, not pooled";
  EXPECT_TRUE(ts::eventually(
      [&] { return metric("modelgate_client_aborts_total") >= aborts_before + 1; }, 2s));
}
