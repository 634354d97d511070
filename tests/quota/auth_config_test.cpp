// Loading `auth`, `quota_store`, `routes[].public` and `listeners[].allow_cidrs`: typed values,
// defaults, and errors that name the key and line without echoing a pasted key.
#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <cstring>

using namespace modelgate::config;

namespace {

const std::string base = R"(listeners:
  - address: 127.0.0.1:8443
    allow_cidrs: [ 127.0.0.0/8, "::1", 10.1.0.0/16 ]
pools:
  - name: text
    backends: [ { address: 127.0.0.1:9001 } ]
routes:
  - { path_prefix: /health, pool: text, public: true }
  - { path_prefix: /v1/, pool: text }
)";

const std::string hex_a(64, 'a');

std::string error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "/etc/modelgate/test.yaml");
  } catch (const config_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a config error for:\n" << yaml;
  return "";
}

std::array<unsigned char, 16> addr(const char* text) {
  std::array<unsigned char, 16> a{};
  in_addr v4{};
  if (inet_pton(AF_INET, text, &v4) == 1) {
    a[10] = a[11] = 0xff;
    std::memcpy(a.data() + 12, &v4, 4);
  } else {
    EXPECT_EQ(inet_pton(AF_INET6, text, a.data()), 1) << text;
  }
  return a;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST(AuthConfig, KeysQuotasStoreAndFlagsLoad) {
  auto c = load_config_text(base + R"(auth:
  default_token_estimate: 256
  keys:
    - id: team-a
      sha256: ")" + hex_a + R"("
      routes: [ /v1/, llama ]
      quota: { requests_per_second: 0.5, burst: 3, max_concurrent: 2, tokens_per_minute: 1000 }
    - { id: team-b, sha256: ")" +
                                std::string(64, 'B') + R"(" }
quota_store: { kind: redis, address: "localhost:6380", on_error: deny, timeout: 20ms, pool_size: 2 }
)",
                            "/x.yaml");
  ASSERT_EQ(c.auth.keys.size(), 2u);
  EXPECT_TRUE(c.auth.enabled());
  EXPECT_EQ(c.auth.default_token_estimate, 256u);
  const auto& a = c.auth.keys[0];
  EXPECT_EQ(a.id, "team-a");
  EXPECT_EQ(a.sha256[0], 0xaa);
  EXPECT_EQ(a.routes, (std::vector<std::string>{"/v1/", "llama"}));
  EXPECT_DOUBLE_EQ(a.quota.requests_per_second, 0.5);
  EXPECT_EQ(a.quota.burst, 3u);
  EXPECT_EQ(a.quota.max_concurrent, 2u);
  EXPECT_EQ(a.quota.tokens_per_minute, 1000u);
  EXPECT_EQ(c.auth.keys[1].sha256[31], 0xbb);
  EXPECT_EQ(c.auth.keys[1].quota.requests_per_second, 0);
  EXPECT_EQ(c.quota_store.kind, quota_store_settings::store::redis);
  EXPECT_EQ(c.quota_store.host, "localhost");
  EXPECT_EQ(c.quota_store.port, 6380);
  EXPECT_EQ(c.quota_store.on_error, quota_store_settings::on_failure::deny);
  EXPECT_EQ(c.quota_store.timeout, std::chrono::milliseconds(20));
  EXPECT_EQ(c.quota_store.pool_size, 2u);
  EXPECT_TRUE(c.routes[0].is_public);
  EXPECT_FALSE(c.routes[1].is_public);
  ASSERT_EQ(c.listeners[0].allow_cidrs.size(), 3u);
}

TEST(AuthConfig, DefaultsWithoutTheSections) {
  auto c = load_config_text(base, "/x.yaml");
  EXPECT_FALSE(c.auth.enabled());
  EXPECT_EQ(c.quota_store.kind, quota_store_settings::store::local);
  EXPECT_EQ(c.quota_store.on_error, quota_store_settings::on_failure::allow);
}

TEST(AuthConfig, ARawKeyInSha256IsRefusedWithoutEchoingIt) {
  auto e = error_of(base + "auth:\n  keys:\n    - { id: a, sha256: sk-secret-raw-key }\n");
  EXPECT_NE(e.find("auth.keys[0].sha256"), std::string::npos) << e;
  EXPECT_NE(e.find(":12:24:"), std::string::npos) << e;
  EXPECT_EQ(e.find("sk-secret"), std::string::npos) << e;
}

TEST(AuthConfig, ValidationErrorsNameTheKey) {
  auto key = [&](const std::string& rest) {
    return base + "auth:\n  keys:\n    - { id: a, sha256: \"" + hex_a + "\"" + rest + " }\n";
  };
  EXPECT_NE(error_of(key(", quota: { burst: 3 }")).find("burst needs requests_per_second"),
            std::string::npos);
  EXPECT_NE(error_of(key(", quota: { requests_per_second: -1 }")).find("requests_per_second"),
            std::string::npos);
  EXPECT_NE(error_of(key(", quota: { max_concurrent: 0 }")).find("max_concurrent"),
            std::string::npos);
  EXPECT_NE(error_of(key(", quota: { rps: 1 }")).find("unknown key"), std::string::npos);
  EXPECT_NE(error_of(base + "auth:\n  keys:\n    - { id: a, sha256: \"" + hex_a +
                     "\" }\n    - { id: a, sha256: \"" + std::string(64, 'b') + "\" }\n")
                .find("duplicate key id"),
            std::string::npos);
  EXPECT_NE(error_of(base + "auth:\n  keys:\n    - { id: a, sha256: \"" + hex_a +
                     "\" }\n    - { id: b, sha256: \"" + hex_a + "\" }\n")
                .find("same sha256"),
            std::string::npos);
  EXPECT_NE(error_of(base + "auth: { keys: [] }\n").find("auth.keys"), std::string::npos);
  EXPECT_NE(error_of(base + "quota_store: { kind: redis }\n").find("quota_store.address"),
            std::string::npos);
  EXPECT_NE(error_of(base + "quota_store: { kind: memcached }\n").find("quota_store.kind"),
            std::string::npos);
  EXPECT_NE(error_of(base + "quota_store: { on_error: maybe }\n").find("quota_store.on_error"),
            std::string::npos);
  EXPECT_NE(error_of(base + "routes2: 1\n").find("unknown key"), std::string::npos);
}

TEST(AuthConfig, AllowCidrsParseAndMatch) {
  auto c = load_config_text(base, "/x.yaml");
  const auto& cidrs = c.listeners[0].allow_cidrs;
  auto allowed = [&](const char* ip) {
    for (const auto& x : cidrs)
      if (cidr_contains(x, addr(ip))) return true;
    return false;
  };
  EXPECT_TRUE(allowed("127.0.0.1"));
  EXPECT_TRUE(allowed("127.255.0.9"));
  EXPECT_TRUE(allowed("::1"));
  EXPECT_TRUE(allowed("10.1.200.3"));
  EXPECT_FALSE(allowed("10.2.0.1"));
  EXPECT_FALSE(allowed("192.168.1.1"));
  EXPECT_FALSE(allowed("::2"));
  EXPECT_TRUE(cidr_contains(parse_cidr("0.0.0.0/0"), addr("8.8.8.8")));
  EXPECT_FALSE(cidr_contains(parse_cidr("0.0.0.0/0"), addr("2001:db8::1")));
  EXPECT_TRUE(cidr_contains(parse_cidr("::/0"), addr("2001:db8::1")));
  EXPECT_TRUE(cidr_contains(parse_cidr("192.168.1.7"), addr("192.168.1.7")));
  EXPECT_FALSE(cidr_contains(parse_cidr("192.168.1.7"), addr("192.168.1.8")));
  EXPECT_THROW(parse_cidr("10.1.2.3/8"), std::invalid_argument);
  EXPECT_THROW(parse_cidr("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(parse_cidr("example.com/8"), std::invalid_argument);
  EXPECT_NE(error_of(replace_all(base, "10.1.0.0/16", "10.1.0.0/99")).find("allow_cidrs[2]"),
            std::string::npos);
}
