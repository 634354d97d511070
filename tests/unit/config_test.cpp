#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace modelgate::config;

namespace {

const char* good = R"(workers: 2
listeners:
  - address: 127.0.0.1:8443
admin: { address: 127.0.0.1:9901 }
limits: { max_header_bytes: 16KiB, max_body_bytes: 8MiB, header_timeout: 10s,
          idle_timeout: 60s, request_timeout: 300s, max_connections: 10000 }
access_log: { path: stdout }
drain_timeout: 5s
pools:
  - name: text
    backends: [ { address: 127.0.0.1:9001, weight: 1 }, { address: backend.internal:9002, weight: 3 } ]
    connect_timeout: 2s
    response_timeout: 30s
routes:
  - { path_prefix: /v1/, pool: text }
)";

// Loads `yaml` and returns the error it raises (fails the test when it loads).
config_error error_of(const std::string& yaml) {
  try {
    load_config_text(yaml, "/etc/modelgate/test.yaml");
  } catch (const config_error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a config error for:\n" << yaml;
  return config_error("", 0, 0, "", "");
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST(Config, GoodFileLoadsWithTypedValues) {
  auto c = load_config_text(good, "/etc/modelgate/test.yaml");
  EXPECT_EQ(c.workers, 2u);
  ASSERT_EQ(c.listeners.size(), 1u);
  EXPECT_EQ(c.listeners[0].address.host, "127.0.0.1");
  EXPECT_EQ(c.listeners[0].address.port, 8443);
  EXPECT_FALSE(c.listeners[0].tls);
  ASSERT_TRUE(c.admin_listener);
  EXPECT_EQ(c.admin_listener->address.port, 9901);
  EXPECT_EQ(c.limit.max_header_bytes, 16384u);
  EXPECT_EQ(c.limit.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.limit.header_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.drain_timeout, std::chrono::seconds(5));
  ASSERT_EQ(c.pools.size(), 1u);
  EXPECT_EQ(c.pools[0].backends[1].address.host, "backend.internal");
  EXPECT_EQ(c.pools[0].backends[1].weight, 3u);
  EXPECT_EQ(c.pools[0].response_timeout, std::chrono::seconds(30));
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].pool_index, 0u);
  EXPECT_EQ(c.routes[0].name, "/v1/");
}

TEST(Config, DefaultsWhenOptionalSectionsAreAbsent) {
  auto c = load_config_text(
      "listeners: [ { address: 127.0.0.1:0 } ]\n"
      "pools: [ { name: p, backends: [ { address: 127.0.0.1:1 } ] } ]\n"
      "routes: [ { pool: p } ]\n",
      "/x/c.yaml");
  EXPECT_GE(c.workers, 1u);
  EXPECT_EQ(c.limit.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.pools[0].connect_timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.routes[0].path_prefix, "");
  EXPECT_FALSE(c.admin_listener);
}

TEST(Config, UnknownKeyIsAnErrorWithItsLine) {
  auto e = error_of(replace(good, "    connect_timeout: 2s\n", "    conect_timeout: 2s\n"));
  EXPECT_EQ(e.line(), 12);
  EXPECT_EQ(e.column(), 5);
  EXPECT_EQ(e.key(), "pools[0].conect_timeout");
  EXPECT_NE(std::string(e.what()).find("/etc/modelgate/test.yaml:12:5"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("unknown key"), std::string::npos);
}

TEST(Config, UnknownTopLevelKey) {
  auto e = error_of(std::string(good) + "colour: blue\n");
  EXPECT_EQ(e.line(), 16);
  EXPECT_EQ(e.key(), "colour");
}

TEST(Config, BadDurationNamesKeyAndLine) {
  auto e = error_of(replace(good, "header_timeout: 10s", "header_timeout: 10 parsecs"));
  EXPECT_EQ(e.line(), 5);
  EXPECT_EQ(e.key(), "limits.header_timeout");
}

TEST(Config, BadSize) {
  auto e = error_of(replace(good, "max_body_bytes: 8MiB", "max_body_bytes: lots"));
  EXPECT_EQ(e.line(), 5);
  EXPECT_EQ(e.key(), "limits.max_body_bytes");
}

TEST(Config, BadAddress) {
  auto e = error_of(replace(good, "address: 127.0.0.1:8443", "address: 127.0.0.1:99999"));
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.key(), "listeners[0].address");
  auto e2 = error_of(replace(good, "address: 127.0.0.1:9001", "address: nohostport"));
  EXPECT_EQ(e2.line(), 11);
  EXPECT_EQ(e2.key(), "pools[0].backends[0].address");
}

TEST(Config, RouteToUnknownPool) {
  auto e = error_of(replace(good, "pool: text }", "pool: txt }"));
  EXPECT_EQ(e.line(), 15);
  EXPECT_EQ(e.key(), "routes[0].pool");
}

TEST(Config, DuplicatePoolAndMissingKeys) {
  auto dup = std::string(good) + "";
  dup = replace(dup, "routes:", "  - name: text\n    backends: [ { address: 127.0.0.1:9 } ]\nroutes:");
  EXPECT_EQ(error_of(dup).key(), "pools[1].name");
  EXPECT_EQ(error_of(replace(good, "  - address: 127.0.0.1:8443\n", "  - tls: {}\n")).key(),
            "listeners[0].address");
  EXPECT_EQ(error_of("workers: 2\n").key(), "listeners");
}

TEST(Config, WorkersOutOfRange) {
  auto e = error_of(replace(good, "workers: 2", "workers: 0"));
  EXPECT_EQ(e.line(), 1);
  EXPECT_EQ(e.key(), "workers");
}

TEST(Config, YamlSyntaxErrorHasPosition) {
  auto e = error_of("listeners: [ { address: 1\n");
  EXPECT_GT(e.line(), 0);
  EXPECT_NE(std::string(e.what()).find("test.yaml:"), std::string::npos);
}

TEST(Config, MissingTlsFilesAreErrors) {
  auto e = error_of(replace(good, "  - address: 127.0.0.1:8443\n",
                            "  - address: 127.0.0.1:8443\n    tls: { cert: nope.crt, key: nope.key }\n"));
  EXPECT_EQ(e.key(), "listeners[0].tls.cert");
  EXPECT_EQ(e.line(), 4);
  EXPECT_NE(std::string(e.what()).find("/etc/modelgate/nope.crt"), std::string::npos) << e.what();
}

TEST(Config, TlsPathsResolveAgainstTheConfigFolder) {
  auto dir = std::filesystem::temp_directory_path() / ("mg_cfg_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "s.crt") << "x";
  std::ofstream(dir / "s.key") << "x";
  std::ofstream(dir / "c.yaml") << replace(good, "  - address: 127.0.0.1:8443\n",
                                           "  - address: 127.0.0.1:8443\n    tls: { cert: s.crt, key: s.key }\n");
  auto c = load_config(dir / "c.yaml");
  ASSERT_TRUE(c.listeners[0].tls);
  EXPECT_EQ(c.listeners[0].tls->cert, dir / "s.crt");
  std::filesystem::remove_all(dir);
}

TEST(Config, MissingFile) {
  EXPECT_THROW(load_config("/nonexistent/modelgate.yaml"), config_error);
}
