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

TEST(Config, ClientCaTurnsOnRequiredClientCertificates) {
  auto dir = std::filesystem::temp_directory_path() / (std::string("mg_mtls_") + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* f : {"s.crt", "s.key", "clients.crt"}) std::ofstream(dir / f) << "x";
  auto with_tls = [&](const std::string& tls) {
    return replace(good, "  - address: 127.0.0.1:8443\n",
                   "  - address: 127.0.0.1:8443\n    tls: { cert: s.crt, key: s.key" + tls + " }\n");
  };
  std::ofstream(dir / "a.yaml") << with_tls(", client_ca: clients.crt");
  std::ofstream(dir / "b.yaml") << with_tls(", client_ca: clients.crt, require_client_cert: false");
  std::ofstream(dir / "c.yaml") << with_tls("");
  auto required = load_config(dir / "a.yaml").listeners[0].tls;
  ASSERT_TRUE(required);
  EXPECT_EQ(required->client_ca, dir / "clients.crt");
  EXPECT_TRUE(required->require_client_cert);
  auto optional = load_config(dir / "b.yaml").listeners[0].tls;
  EXPECT_FALSE(optional->require_client_cert);
  EXPECT_FALSE(optional == required) << "a reload must see the change";
  auto plain = load_config(dir / "c.yaml").listeners[0].tls;
  EXPECT_TRUE(plain->client_ca.empty());
  EXPECT_FALSE(plain->require_client_cert);
  std::filesystem::remove_all(dir);
}

TEST(Config, RequireClientCertNeedsAClientCa) {
  auto e = error_of(replace(good, "  - address: 127.0.0.1:8443\n",
                            "  - address: 127.0.0.1:8443\n    tls: { cert: /dev/null, key: /dev/null,"
                            " require_client_cert: true }\n"));
  EXPECT_EQ(e.key(), "listeners[0].tls.require_client_cert");
}

TEST(Config, MissingFile) {
  EXPECT_THROW(load_config("/nonexistent/modelgate.yaml"), config_error);
}

TEST(Config, RoutingKeysFromTheIssueShape) {
  auto c = load_config_text(R"(listeners: [ { address: 127.0.0.1:0 } ]
pools:
  - name: chat
    policy: consistent_hash
    hash_key: "header:x-session-id"
    bounded_load: 1.25
    load_report: { header: endpoint-load-metrics, scrape: { path: /metrics, metric: "vllm:num_requests_waiting", interval: 1s } }
    health: { path: /healthz, interval: 1s, timeout: 500ms, unhealthy_after: 2, healthy_after: 2 }
    retries: { attempts: 3, on: [connect_failure, 502, 503, 504] }
    backends: [ { address: 127.0.0.1:9001, weight: 2 }, { address: backend.internal:9002 } ]
  - name: small
    policy: least_queue
    backends: [ { address: 127.0.0.1:9003 } ]
routes:
  - { path_prefix: /v1/, model: [ "llama-3-8b" ], pool: chat, fallback: small }
  - { host: api.local, header: { name: x-tier, value: gold }, path: /v1/x, pool: small }
)", "/x/c.yaml");
  const auto& p = c.pools[0];
  EXPECT_EQ(p.policy, balance_policy::consistent_hash);
  EXPECT_EQ(p.key.from, hash_key::source::header);
  EXPECT_EQ(p.key.name, "x-session-id");
  EXPECT_DOUBLE_EQ(p.bounded_load, 1.25);
  EXPECT_EQ(p.report.header, "endpoint-load-metrics");
  ASSERT_TRUE(p.report.scrape);
  EXPECT_EQ(p.report.scrape->metric, "vllm:num_requests_waiting");
  ASSERT_TRUE(p.health);
  EXPECT_EQ(p.health->timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(p.retries.attempts, 3u);
  EXPECT_TRUE(p.retries.on_connect_failure);
  EXPECT_EQ(p.retries.statuses, (std::vector<unsigned>{502, 503, 504}));
  EXPECT_EQ(c.pools[1].policy, balance_policy::least_queue);
  EXPECT_EQ(c.routes[0].models, std::vector<std::string>{"llama-3-8b"});
  EXPECT_EQ(c.routes[0].fallback_index, 1u);
  EXPECT_EQ(c.routes[1].header->value, "gold");
  EXPECT_EQ(c.routes[1].path, "/v1/x");
}

TEST(Config, RetriesBlockKeepsTheDefaultsItDoesNotSet) {
  // Writing only `on` must not change the number of attempts a pool without `retries` gets.
  auto c = load_config_text(R"(listeners: [ { address: 127.0.0.1:0 } ]
pools:
  - { name: a, backends: [ { address: 127.0.0.1:1 } ] }
  - { name: b, backends: [ { address: 127.0.0.1:2 } ], retries: { on: [503] } }
routes: [ { pool: a } ]
)", "/x/c.yaml");
  const retry_policy defaults;
  EXPECT_EQ(c.pools[0].retries.attempts, defaults.attempts);
  EXPECT_TRUE(c.pools[0].retries.on_connect_failure);
  const auto& b = c.pools[1].retries;
  EXPECT_EQ(b.attempts, defaults.attempts);
  EXPECT_FALSE(b.on_connect_failure);
  EXPECT_EQ(b.statuses, std::vector<unsigned>{503});
  EXPECT_EQ(b.backoff_base, defaults.backoff_base);
  EXPECT_DOUBLE_EQ(b.budget, defaults.budget);
}

TEST(Config, RoutingErrorsNameTheKey) {
  const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n    backends: [ { address: 127.0.0.1:1 } ]\n";
  const std::string tail = "routes: [ { pool: p } ]\n";
  EXPECT_EQ(error_of(head + "    policy: fastest\n" + tail).key(), "pools[0].policy");
  EXPECT_EQ(error_of(head + "    policy: consistent_hash\n" + tail).key(), "pools[0].hash_key");
  EXPECT_EQ(error_of(head + "    policy: consistent_hash\n    hash_key: header\n" + tail).key(), "pools[0].hash_key");
  EXPECT_EQ(error_of(head + "    hash_key: prompt_prefix:abc\n" + tail).key(), "pools[0].hash_key");
  EXPECT_EQ(error_of(head + "    bounded_load: 0.5\n" + tail).key(), "pools[0].bounded_load");
  EXPECT_EQ(error_of(head + "    retries: { on: [ 200 ] }\n" + tail).key(), "pools[0].retries.on[0]");
  EXPECT_EQ(error_of(head + "    health: { path: healthz }\n" + tail).key(), "pools[0].health.path");
  auto e = error_of(head + "routes: [ { pool: p, fallback: nope } ]\n");
  EXPECT_EQ(e.key(), "routes[0].fallback");
  EXPECT_EQ(e.line(), 5);
  EXPECT_EQ(error_of(head + "routes: [ { pool: p, on_client_close: ignore } ]\n").key(), "routes[0].on_client_close");
}

// Issue 14: a route name labels metrics and selects cache purges, so it must name one route.
TEST(Config, DuplicateExplicitRouteNameIsAnErrorAtTheSecond) {
  const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n    backends: [ { address: 127.0.0.1:1 } ]\n";
  auto e = error_of(head +
                    "routes:\n"
                    "  - { name: chat, path_prefix: /a/, pool: p }\n"
                    "  - { name: other, path_prefix: /b/, pool: p }\n"
                    "  - { name: chat, path_prefix: /c/, pool: p }\n");
  EXPECT_EQ(e.key(), "routes[2].name");
  EXPECT_EQ(e.line(), 8);
  EXPECT_NE(std::string(e.what()).find("duplicate route name 'chat' (routes[0] has it too)"),
            std::string::npos)
      << e.what();
}

TEST(Config, RepeatedDefaultRouteNamesAreMadeUnique) {
  const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n    backends: [ { address: 127.0.0.1:1 } ]\n";
  auto c = load_config_text(head +
                                "routes:\n"
                                "  - { path_prefix: /v2/, header: { name: x-tier, value: premium }, pool: p }\n"
                                "  - { path_prefix: /v2/, pool: p }\n"
                                "  - { path_prefix: /v2/, pool: p, model: m }\n"
                                "  - { name: '/v2/#3', path_prefix: /v3/, pool: p }\n"
                                "  - { path_prefix: /v1/, pool: p }\n"
                                "  - { pool: p }\n",
                            "/t.yaml");
  ASSERT_EQ(c.routes.size(), 6u);
  EXPECT_EQ(c.routes[0].name, "/v2/");
  EXPECT_EQ(c.routes[1].name, "/v2/#2");
  EXPECT_EQ(c.routes[2].name, "/v2/#4") << "#3 is taken by an explicit name";
  EXPECT_EQ(c.routes[3].name, "/v2/#3");
  EXPECT_EQ(c.routes[4].name, "/v1/");
  EXPECT_EQ(c.routes[5].name, "*");
  // An explicit name wins over a default one, wherever it stands.
  auto d = load_config_text(head +
                                "routes:\n"
                                "  - { path_prefix: /v1/, pool: p }\n"
                                "  - { name: /v1/, path_prefix: /x/, pool: p }\n",
                            "/t.yaml");
  EXPECT_EQ(d.routes[0].name, "/v1/#2");
  EXPECT_EQ(d.routes[1].name, "/v1/");
}

TEST(Config, OnClientCloseDefaultsToAbort) {
  const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n    backends: [ { address: 127.0.0.1:1 } ]\n";
  auto c = load_config_text(head + "routes: [ { pool: p }, { pool: p, on_client_close: finish }, { pool: p, on_client_close: abort } ]\n", "/etc/modelgate/test.yaml");
  EXPECT_TRUE(c.routes[0].half_close_aborts);
  EXPECT_FALSE(c.routes[1].half_close_aborts);
  EXPECT_TRUE(c.routes[2].half_close_aborts);
}

TEST(Config, DnsNamedBackendsBecomeSlots) {
  auto c = load_config_text(R"(listeners: [ { address: 127.0.0.1:0 } ]
pools:
  - name: p
    dns_refresh: 2s
    backends:
      - { address: 127.0.0.1:9001 }
      - { address: vllm.default.svc:8000, weight: 3, max_addresses: 3 }
      - { address: "[::1]:9002" }
      - { address: tgi.internal:80 }
routes: [ { pool: p } ]
)", "/x/c.yaml");
  const auto& b = c.pools[0].backends;
  EXPECT_EQ(c.pools[0].dns_refresh, std::chrono::seconds(2));
  ASSERT_EQ(b.size(), 1u + 3u + 1u + 8u) << "a name without max_addresses gets 8 slots";
  EXPECT_EQ(b[0].slots, 0u);
  EXPECT_EQ(b[0].label(), "127.0.0.1:9001");
  for (std::uint16_t s = 0; s < 3; ++s) {
    EXPECT_EQ(b[1 + s].slots, 3u);
    EXPECT_EQ(b[1 + s].slot, s);
    EXPECT_EQ(b[1 + s].weight, 3u);
    EXPECT_EQ(b[1 + s].address.str(), "vllm.default.svc:8000");
  }
  EXPECT_EQ(b[2].label(), "vllm.default.svc:8000#1");
  EXPECT_EQ(b[4].slots, 0u) << "an IPv6 literal is an address, not a name";
  EXPECT_EQ(b[12].label(), "tgi.internal:80#7");
}

TEST(Config, DnsSlotErrors) {
  const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n";
  const std::string tail = "routes: [ { pool: p } ]\n";
  EXPECT_EQ(error_of(head + "    backends: [ { address: 127.0.0.1:1, max_addresses: 2 } ]\n" + tail).key(),
            "pools[0].backends[0].max_addresses");
  EXPECT_EQ(error_of(head + "    backends: [ { address: a.b:1, max_addresses: 0 } ]\n" + tail).key(),
            "pools[0].backends[0].max_addresses");
  EXPECT_EQ(error_of(head + "    backends: [ { address: a.b:1, max_addresses: 256 }, { address: c.d:1, max_addresses: 256 },"
                            " { address: e.f:1, max_addresses: 256 }, { address: g.h:1, max_addresses: 256 },"
                            " { address: 127.0.0.1:1 } ]\n" + tail).key(),
            "pools[0].backends");
}
