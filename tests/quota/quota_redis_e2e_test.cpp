// Quotas shared through Redis, end to end: two real proxy processes admit the configured rate in
// total; Redis killed mid-test → on_error (deny: 503; allow: the local limiter), counted, and
// recovery once Redis is back. Skipped when redis-server is not installed.

#include "tests/quota/e2e_fixture.hpp"

using quota_e2e::bearer_a;

class QuotaRedisTest : public QuotaTest {
 protected:
  void SetUp() override {
    auto bin = quota_e2e::find_program("redis-server");
    if (!bin) GTEST_SKIP() << "redis-server not installed";
    redis.emplace(*bin, dir, ts::unused_port());
    ASSERT_TRUE(redis->start()) << ts::read_file(dir.file("redis.out"));
  }

  ts::proxy_config redis_config(const std::string& quota, const std::string& on_error) const {
    auto c = config();
    c.extra_yaml = auth_yaml(quota) + "quota_store: { kind: redis, address: 127.0.0.1:" +
                   std::to_string(redis->port()) + ", on_error: " + on_error +
                   ", timeout: 100ms, reconnect_backoff: 100ms }\n";
    return c;
  }

  int status(std::unique_ptr<ts::proxy_process>& p) const {
    auto c = ts::http_client::connect_tls(p->listener_port(0), certs.ca_cert);
    return c.get("/v1/x", {{"Authorization", bearer_a}}).result_int();
  }

  std::optional<quota_e2e::redis_child> redis;
};

TEST_F(QuotaRedisTest, TwoProxiesSharingRedisAdmitTheRateOnceInTotal) {
  // One request per 100 s after a burst of 4: the test never sees a refill.
  auto c = redis_config("{ requests_per_second: 0.01, burst: 4 }", "deny");
  start(c);
  ts::temp_dir other_dir;
  c.cert = certs.server_cert.string();  // same certificate, so one CA verifies both
  c.key = certs.server_key.string();
  auto other = std::make_unique<ts::proxy_process>(MODELGATE_BIN, other_dir, c.to_yaml());
  int ok = 0, limited = 0;
  for (int i = 0; i < 10; ++i) {
    auto s = status(i % 2 == 0 ? proxy : other);
    ok += s == 200;
    limited += s == 429;
  }
  EXPECT_EQ(ok, 4) << "each proxy alone would admit 4";
  EXPECT_EQ(limited, 6);
  EXPECT_EQ(upstream.requests(), 4u);
  const auto sum =
      metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"rate\"}") +
      ts::metric_sum(other->admin_get("/metrics"),
                     "modelgate_quota_rejections_total{key=\"team-a\",reason=\"rate\"}")
          .value_or(0);
  EXPECT_EQ(sum, 6.0);
}

TEST_F(QuotaRedisTest, RedisDownWithOnErrorDenyIs503ThenRecovers) {
  start(redis_config("{ requests_per_second: 100, burst: 100 }", "deny"));
  EXPECT_EQ(status(proxy), 200);
  redis->kill();
  auto c = client();
  auto res = c.get("/v1/x", {{"Authorization", bearer_a}});
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(header(res, "Retry-After"), "1");
  EXPECT_NE(res.body().find("quota_unavailable"), std::string::npos) << res.body();
  EXPECT_GE(metric("modelgate_quota_store_errors_total"), 1.0);
  EXPECT_EQ(metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"unavailable\"}"), 1.0);
  if (auto findings = quota_e2e::promtool_findings(dir, metrics())) {
    EXPECT_EQ(*findings, "") << "promtool check metrics";
  }
  // The proxy keeps serving other requests meanwhile (health, metrics) and reconnects by itself.
  ASSERT_TRUE(redis->start());
  EXPECT_TRUE(ts::eventually([&] { return status(proxy) == 200; }, 5s));
}

TEST_F(QuotaRedisTest, RedisDownWithOnErrorAllowFallsBackToTheLocalLimiter) {
  start(redis_config("{ requests_per_second: 0.01, burst: 3 }", "allow"));
  EXPECT_EQ(status(proxy), 200);  // from Redis's budget
  redis->kill();
  // The local limiter has its own full burst of 3; then it refuses.
  int ok = 0, limited = 0;
  for (int i = 0; i < 5; ++i) {
    auto s = status(proxy);
    ok += s == 200;
    limited += s == 429;
  }
  EXPECT_EQ(ok, 3);
  EXPECT_EQ(limited, 2);
  EXPECT_GE(metric("modelgate_quota_store_fallbacks_total"), 5.0);
  EXPECT_GE(metric("modelgate_quota_store_errors_total"), 5.0);
  // Back on Redis (a fresh one: its state was lost): admitted from the shared budget again.
  ASSERT_TRUE(redis->start());
  // Each worker has its own store; one that failed a connect just now fails fast for
  // reconnect_backoff (100ms). Past that, every worker's next call reconnects.
  std::this_thread::sleep_for(300ms);
  const auto fallbacks = metric("modelgate_quota_store_fallbacks_total");
  EXPECT_EQ(status(proxy), 200);
  EXPECT_EQ(status(proxy), 200);
  EXPECT_EQ(metric("modelgate_quota_store_fallbacks_total"), fallbacks) << "served by Redis";
}
