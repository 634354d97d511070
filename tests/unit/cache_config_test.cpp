// `cache:` at top level and on routes: defaults, typed values and errors that name the key.

#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace modelgate::config;

namespace {

std::string base(const std::string& top, const std::string& route_extra) {
  return "listeners: [ { address: 127.0.0.1:8443 } ]\n"
         "pools: [ { name: text, backends: [ { address: 127.0.0.1:9001 } ] } ]\n"
         "routes:\n  - { path_prefix: /v1/, pool: text" + route_extra + " }\n" + top;
}

std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "/etc/modelgate/test.yaml");
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a config error for:\n" << yaml;
  return {};
}

}  // namespace

TEST(CacheConfig, AbsentMeansDefaultsAndNoRouteCaches) {
  auto c = load_config_text(base("", ""), "/t.yaml");
  EXPECT_EQ(c.cache.max_bytes, 256u * 1024 * 1024);
  EXPECT_EQ(c.cache.default_ttl, std::chrono::seconds(300));
  EXPECT_FALSE(c.cache.redis);
  EXPECT_FALSE(c.routes[0].cache.enabled);
}

TEST(CacheConfig, IssueExampleLoads) {
  auto c = load_config_text(
      base("cache: { max_bytes: 268435456, default_ttl: 300s }\n",
           ", cache: { enabled: true, ttl: 60s }"),
      "/t.yaml");
  EXPECT_EQ(c.cache.max_bytes, 268435456u);
  const auto& rc = c.routes[0].cache;
  EXPECT_TRUE(rc.enabled);
  ASSERT_TRUE(rc.ttl);
  EXPECT_EQ(*rc.ttl, std::chrono::seconds(60));
  EXPECT_FALSE(rc.shared);
  EXPECT_FALSE(rc.always);
}

TEST(CacheConfig, EveryKey) {
  auto c = load_config_text(
      base("cache:\n  max_bytes: 64MiB\n  default_ttl: 10m\n  shards: 4\n  max_entry_divisor: 2\n"
           "  coalesce_timeout: 5s\n  redis: { address: 127.0.0.1:6379, prefix: mg, timeout: 20ms }\n",
           ", cache: { shared: true, always: yes, vary: [Accept-Encoding, x-tenant], ignore_stream_no_cache: true }"),
      "/t.yaml");
  EXPECT_EQ(c.cache.max_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(c.cache.default_ttl, std::chrono::minutes(10));
  EXPECT_EQ(c.cache.shards, 4u);
  EXPECT_EQ(c.cache.max_entry_divisor, 2u);
  EXPECT_EQ(c.cache.coalesce_timeout, std::chrono::seconds(5));
  ASSERT_TRUE(c.cache.redis);
  EXPECT_EQ(c.cache.redis->host, "127.0.0.1");
  EXPECT_EQ(c.cache.redis->port, 6379);
  EXPECT_EQ(c.cache.redis->prefix, "mg");
  EXPECT_EQ(c.cache.redis->timeout, std::chrono::milliseconds(20));
  const auto& rc = c.routes[0].cache;
  EXPECT_TRUE(rc.enabled) << "a cache map on a route turns caching on";
  EXPECT_TRUE(rc.shared);
  EXPECT_TRUE(rc.always);
  EXPECT_TRUE(rc.ignore_stream_no_cache);
  EXPECT_EQ(rc.vary, (std::vector<std::string>{"accept-encoding", "x-tenant"}));
}

TEST(CacheConfig, EnabledFalseTurnsItOff) {
  auto c = load_config_text(base("", ", cache: { enabled: false, ttl: 1s }"), "/t.yaml");
  EXPECT_FALSE(c.routes[0].cache.enabled);
}

TEST(CacheConfig, ErrorsNameFileLineAndKey) {
  EXPECT_NE(error_of(base("cache: { max_byte: 1MiB }\n", "")).find("key 'cache.max_byte': unknown key"),
            std::string::npos);
  auto e = error_of(base("", ", cache: { ttl: soon }"));
  EXPECT_NE(e.find("/etc/modelgate/test.yaml:4:"), std::string::npos) << e;
  EXPECT_NE(e.find("key 'routes[0].cache.ttl'"), std::string::npos) << e;
  EXPECT_NE(error_of(base("", ", cache: { enable: true }")).find("routes[0].cache.enable"),
            std::string::npos);
  EXPECT_NE(error_of(base("", ", cache: { vary: [\"bad header\"] }")).find("not a header name"),
            std::string::npos);
  EXPECT_NE(error_of(base("", ", cache: { vary: [a, A] }")).find("listed twice"), std::string::npos);
  EXPECT_NE(error_of(base("cache: { max_bytes: 1KiB }\n", "")).find("at least 16KiB"),
            std::string::npos);
  EXPECT_NE(error_of(base("cache: { redis: { address: nowhere } }\n", "")).find("cache.redis.address"),
            std::string::npos);
  EXPECT_NE(error_of(base("cache: { shards: 0 }\n", "")).find("cache.shards"), std::string::npos);
}
