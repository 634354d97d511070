// Upstream failures: refused → 502, too slow → 504.

#include "tests/integration/proxy_fixture.hpp"
#include "tests/support/ports.hpp"

TEST_F(ProxyTest, UpstreamRefusingConnectionsIs502) {
  auto cfg = config();
  cfg.backends = {"127.0.0.1:" + std::to_string(ts::unused_port())};
  start(cfg);
  auto c = client();
  auto res = c.get("/v1/x");
  EXPECT_EQ(res.result_int(), 502);
  // The client connection survives an upstream failure.
  EXPECT_EQ(c.get("/v1/y").result_int(), 502);
}

TEST_F(ProxyTest, UpstreamSlowerThanResponseTimeoutIs504) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "too late").with_delay(3s));
  auto cfg = config();
  cfg.response_timeout = "500ms";
  start(cfg);
  auto c = client();
  auto begin = ts::steady_clock::now();
  auto res = c.get("/v1/slow");
  auto took = ts::steady_clock::now() - begin;
  EXPECT_EQ(res.result_int(), 504);
  EXPECT_GE(took, 450ms);
  EXPECT_LT(took, 2000ms);
}

TEST_F(ProxyTest, UpstreamHangingUpBeforeAnsweringIs502) {
  upstream.on("/v1/bye", ts::upstream_behaviour::hang_up());
  start();
  auto c = client();
  EXPECT_EQ(c.get("/v1/bye").result_int(), 502);
}
