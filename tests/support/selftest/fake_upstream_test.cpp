// The fake upstream and the client against each other, without the proxy.

#include "tests/support/fake_upstream.hpp"

#include <gtest/gtest.h>

#include "tests/support/http_client.hpp"
#include "tests/support/wait.hpp"

namespace ts = modelgate::test_support;
using namespace std::chrono_literals;

TEST(FakeUpstream, AnswersOkByDefaultAndCountsKeepAliveRequests) {
  ts::fake_upstream up;
  auto c = ts::http_client::connect(up.port());
  for (int i = 0; i < 3; ++i) {
    auto res = c.get("/anything");
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "ok\n");
  }
  EXPECT_EQ(up.connections(), 1u);
  EXPECT_EQ(up.requests(), 3u);
  EXPECT_EQ(up.last_request().target, "/anything");
}

TEST(FakeUpstream, FixedResponsePerPathIgnoresQuery) {
  ts::fake_upstream up;
  up.on("/teapot", ts::upstream_behaviour::fixed(418, "short and stout").with_header("x-a", "b"));
  auto c = ts::http_client::connect(up.port());
  auto res = c.get("/teapot?x=1");
  EXPECT_EQ(res.result_int(), 418);
  EXPECT_EQ(res.body(), "short and stout");
  EXPECT_EQ(res["x-a"], "b");
  EXPECT_EQ(c.get("/other").result_int(), 200);
}

TEST(FakeUpstream, EchoesAndRecordsRequestHeaders) {
  ts::fake_upstream up;
  up.on("/echo", ts::upstream_behaviour::echo_headers());
  auto c = ts::http_client::connect(up.port());
  auto res = c.post("/echo", "payload", {{"X-Test", "1"}, {"x-test", "2"}});
  EXPECT_NE(res.body().find("X-Test: 1\n"), std::string::npos) << res.body();
  EXPECT_NE(res.body().find("\n\npayload"), std::string::npos) << res.body();
  auto r = up.last_request();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.values("x-TEST"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(r.body, "payload");
  EXPECT_FALSE(r.has("x-absent"));
}

TEST(FakeUpstream, StreamsSseEventsApartInTime) {
  ts::fake_upstream up;
  up.on("/sse", ts::upstream_behaviour::sse(5, 60ms));
  auto c = ts::http_client::connect(up.port());
  auto start = ts::steady_clock::now();
  c.send({ts::http::verb::get, "/sse", 11});
  auto s = c.read_streaming();
  ASSERT_TRUE(s.complete) << s.error.message();
  EXPECT_EQ(s.header[ts::http::field::content_type], "text/event-stream");
  ASSERT_FALSE(s.pieces.empty());
  EXPECT_LT(s.pieces.front().at - start, 150ms);
  EXPECT_GE(s.pieces.back().at - start, 240ms);
  EXPECT_NE(s.body().find("data: event 4\n\n"), std::string::npos);
  // The connection stays usable after a complete stream.
  EXPECT_EQ(c.get("/after").result_int(), 200);
  EXPECT_EQ(up.connections(), 1u);
}

TEST(FakeUpstream, ClosesMidStreamWithoutLastChunk) {
  ts::fake_upstream up;
  up.on("/cut", ts::upstream_behaviour::sse(5, 10ms).closing_after(2));
  auto c = ts::http_client::connect(up.port());
  c.send({ts::http::verb::get, "/cut", 11});
  auto s = c.read_streaming();
  EXPECT_FALSE(s.complete);
  EXPECT_TRUE(s.error) << "expected an error such as partial_message";
  EXPECT_NE(s.body().find("event 1"), std::string::npos);
  EXPECT_EQ(s.body().find("event 2"), std::string::npos);
}

TEST(FakeUpstream, DelaysBeforeResponding) {
  ts::fake_upstream up;
  up.on("/slow", ts::upstream_behaviour::fixed(200, "late").with_delay(200ms));
  auto c = ts::http_client::connect(up.port());
  auto start = ts::steady_clock::now();
  EXPECT_EQ(c.get("/slow").body(), "late");
  EXPECT_GE(ts::steady_clock::now() - start, 200ms);
}

TEST(FakeUpstream, CountsAWriteToAClientThatWentAway) {
  ts::fake_upstream up;
  up.on("/long", ts::upstream_behaviour::sse(200, 20ms));
  auto c = ts::http_client::connect(up.port());
  c.send({ts::http::verb::get, "/long", 11});
  ts::streamed_response s;
  c.read_header(s);
  ASSERT_TRUE(c.read_piece(s));
  c.close();
  EXPECT_TRUE(ts::eventually([&] { return up.aborted_writes() == 1; }, 2s));
  EXPECT_TRUE(ts::eventually([&] { return up.open_connections() == 0; }, 2s));
}

TEST(FakeUpstream, HangUpClosesWithoutAnswer) {
  ts::fake_upstream up;
  up.on("/bye", ts::upstream_behaviour::hang_up());
  auto c = ts::http_client::connect(up.port());
  c.send({ts::http::verb::get, "/bye", 11});
  EXPECT_THROW(c.read_response(), boost::system::system_error);
}

TEST(HttpClient, RawBytesAndCloseDetection) {
  ts::fake_upstream up;
  auto c = ts::http_client::connect(up.port());
  c.write_raw("GET /raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(c.wait_readable(2s));
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(c.wait_closed(2s));
  EXPECT_EQ(up.last_request().target, "/raw");
}

TEST(HttpClient, WaitClosedTimesOutOnAnOpenConnection) {
  ts::fake_upstream up;
  auto c = ts::http_client::connect(up.port());
  EXPECT_FALSE(c.wait_readable(50ms));
  EXPECT_FALSE(c.wait_closed(100ms));
}
