// The cache's Redis tier end to end: two proxy processes share entries through a redis-server
// started on a free port; with Redis down, requests still succeed from the local tier.

#include "tests/integration/proxy_fixture.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/ports.hpp"

#include <cstdlib>
#include <optional>
#include <sstream>

namespace {

std::string x_cache(const ts::response& r) { return std::string(r["x-cache"]); }

}  // namespace

class CacheRedisTest : public ProxyTest {
 protected:
  // Plain listeners: each proxy gets its own folder (logs, ports), one upstream for both.
  std::string yaml(std::uint16_t redis_port) const {
    auto c = config();
    c.tls = false;
    c.route_yaml = ", cache: { enabled: true, ttl: 60s }";
    c.extra_yaml = "cache: { max_bytes: 16MiB, redis: { address: 127.0.0.1:" +
                   std::to_string(redis_port) + ", timeout: 200ms } }\n";
    return c.to_yaml();
  }

  ts::temp_dir dir_b;
};

TEST_F(CacheRedisTest, TwoProxiesShareEntriesThroughRedis) {
  auto bin = ts::find_program("redis-server");
  if (!bin) GTEST_SKIP() << "redis-server not installed";
  const auto port = ts::unused_port();
  ts::child_process redis({bin->string(), "--port", std::to_string(port), "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no", "--dir", dir.path().string()},
                          ts::child_io{{}, dir.file("redis.out"), dir.file("redis.err")});
  ASSERT_TRUE(ts::eventually([&] { return !ts::http_client::try_connect(port); }, 10s));
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "{\"shared\":true}\n", "application/json")
                               .with_header("x-model", "demo"));
  ts::proxy_process a(MODELGATE_BIN, dir, yaml(port));
  ts::proxy_process b(MODELGATE_BIN, dir_b, yaml(port));
  auto ca = ts::http_client::connect(a.listener_port());
  auto cb = ts::http_client::connect(b.listener_port());
  auto first = ca.post("/v1/infer", R"({"x":1})", {{"authorization", "Bearer k"}});
  EXPECT_EQ(x_cache(first), "MISS");
  // The write to Redis happens after A's response: poll B until it sees it.
  ts::response second;
  bool shared = ts::eventually([&] {
    second = cb.post("/v1/infer", R"({"x":1})", {{"authorization", "Bearer k"}});
    return x_cache(second) == "HIT";
  }, 3s);
  EXPECT_TRUE(shared) << "proxy B never found A's entry in Redis";
  EXPECT_EQ(second.body(), first.body());
  EXPECT_EQ(second["x-model"], "demo");
  EXPECT_EQ(upstream.requests(), 1u);
  // Another caller's key is still another entry, in Redis too.
  EXPECT_EQ(x_cache(cb.post("/v1/infer", R"({"x":1})", {{"authorization", "Bearer other"}})), "MISS");
  EXPECT_GE(ts::metric_sum(b.admin_get("/metrics"), "modelgate_cache_redis_hits_total").value_or(0), 1.0);
}

TEST_F(CacheRedisTest, RedisDownDegradesToTheLocalTier) {
  const auto port = ts::unused_port();  // nothing listens there
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "local\n"));
  ts::proxy_process a(MODELGATE_BIN, dir, yaml(port));
  auto c = ts::http_client::connect(a.listener_port());
  auto first = c.post("/v1/infer", "{}");
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(x_cache(first), "MISS");
  auto second = c.post("/v1/infer", "{}");
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_EQ(x_cache(second), "HIT");
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_GE(ts::metric_sum(a.admin_get("/metrics"), "modelgate_cache_redis_errors_total").value_or(0), 1.0);
}
