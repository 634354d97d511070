// `pools[].managed`: the proxy runs the pool's backends itself (see docs/config.md "Managed pools").
#include "config/loader.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace modelgate::config;

namespace {

const std::string head = "listeners: [ { address: 127.0.0.1:0 } ]\npools:\n  - name: p\n";
const std::string tail = "routes: [ { pool: p } ]\n";

proxy_config load(const std::string& pool_body, const std::filesystem::path& source = "/etc/modelgate/m.yaml") {
  return load_config_text(head + pool_body + tail, source);
}

// Loads `yaml` and returns the error it raises (fails the test when it loads).
config_error error_of(const std::string& pool_body) {
  try {
    load(pool_body);
  } catch (const config_error& e) {
    return e;
  }
  ADD_FAILURE() << "expected a config error for:\n" << pool_body;
  return config_error("", 0, 0, "", "");
}

}  // namespace

TEST(ManagedConfig, DefaultsAndSynthesizedReplicaSlots) {
  auto c = load("    managed: { command: [ modelgate-backend, --port, \"{port}\" ] }\n");
  const auto& p = c.pools[0];
  ASSERT_TRUE(p.managed);
  const auto& m = *p.managed;
  EXPECT_EQ(m.command, (std::vector<std::string>{"modelgate-backend", "--port", "{port}"}));
  EXPECT_EQ(m.workdir, std::filesystem::path("/etc/modelgate")) << "default: the config file's folder";
  EXPECT_EQ(m.host, "127.0.0.1");
  EXPECT_TRUE(m.listen_fds) << "modelgate-backend takes its socket by LISTEN_FDS";
  EXPECT_EQ(m.min_replicas, 1u);
  EXPECT_EQ(m.max_replicas, 1u);
  EXPECT_EQ(m.target_queue_depth, 4.0);
  EXPECT_EQ(m.scale_up_cooldown, std::chrono::seconds(10));
  EXPECT_EQ(m.scale_down_cooldown, std::chrono::seconds(60));
  EXPECT_EQ(m.scale_window, std::chrono::seconds(10));
  EXPECT_EQ(m.ready_path, "/v2/health/ready");
  EXPECT_EQ(m.ready_timeout, std::chrono::seconds(60));
  EXPECT_EQ(m.drain_timeout, std::chrono::seconds(30));
  EXPECT_EQ(m.stop_timeout, std::chrono::seconds(10));
  EXPECT_EQ(m.restart_backoff_max, std::chrono::seconds(30));
  ASSERT_EQ(p.backends.size(), 1u);
  EXPECT_TRUE(p.backends[0].managed);
  EXPECT_EQ(p.backends[0].label(), "replica#0");
}

TEST(ManagedConfig, EveryKeyIsRead) {
  auto dir = std::filesystem::temp_directory_path();
  auto c = load(R"(    policy: least_queue
    managed:
      command: [ /opt/serve, "--listen={port}", --model, m ]
      workdir: )" + dir.string() + R"(
      host: "::1"
      min_replicas: 0
      max_replicas: 4
      target_queue_depth: 2.5
      scale_up_cooldown: 5s
      scale_down_cooldown: 2m
      scale_window: 20s
      ready_path: /ready
      ready_timeout: 90s
      drain_timeout: 15s
      stop_timeout: 3s
      restart_backoff_max: 1m
)");
  const auto& p = c.pools[0];
  const auto& m = *p.managed;
  EXPECT_EQ(m.command.size(), 4u);
  EXPECT_EQ(m.command[1], "--listen={port}");
  EXPECT_EQ(m.workdir, dir.lexically_normal());
  EXPECT_EQ(m.host, "::1");
  EXPECT_FALSE(m.listen_fds) << "another program: only the port, unless listen_fds says so";
  EXPECT_EQ(m.min_replicas, 0u);
  EXPECT_EQ(m.max_replicas, 4u);
  EXPECT_EQ(m.target_queue_depth, 2.5);
  EXPECT_EQ(m.scale_up_cooldown, std::chrono::seconds(5));
  EXPECT_EQ(m.scale_down_cooldown, std::chrono::minutes(2));
  EXPECT_EQ(m.scale_window, std::chrono::seconds(20));
  EXPECT_EQ(m.ready_path, "/ready");
  EXPECT_EQ(m.ready_timeout, std::chrono::seconds(90));
  EXPECT_EQ(m.drain_timeout, std::chrono::seconds(15));
  EXPECT_EQ(m.stop_timeout, std::chrono::seconds(3));
  EXPECT_EQ(m.restart_backoff_max, std::chrono::minutes(1));

  // max_replicas slots, one per possible replica, port assigned at run time.
  ASSERT_EQ(p.backends.size(), 4u);
  for (std::uint16_t i = 0; i < 4; ++i) {
    const auto& b = p.backends[i];
    EXPECT_TRUE(b.managed);
    EXPECT_EQ(b.address.host, "::1");
    EXPECT_EQ(b.address.port, 0);
    EXPECT_EQ(b.slot, i);
    EXPECT_EQ(b.slots, 4u);
    EXPECT_EQ(b.weight, 1u);
    EXPECT_FALSE(b.tls);
    EXPECT_EQ(b.label(), "replica#" + std::to_string(i));
  }
}

// Only programs that take LISTEN_FDS may get the socket: another would find its port held.
TEST(ManagedConfig, ListenFdsDefaultsToOnForModelgateBackendOnly) {
  auto listen_fds = [](const std::string& managed) { return load(managed).pools[0].managed->listen_fds; };
  EXPECT_TRUE(listen_fds("    managed: { command: [ /usr/local/bin/modelgate-backend, serve ] }\n"));
  EXPECT_FALSE(listen_fds("    managed: { command: [ vllm, serve, --port, \"{port}\" ] }\n"));
  EXPECT_FALSE(listen_fds("    managed: { command: [ /opt/modelgate-backend-wrapper ] }\n"));
  EXPECT_TRUE(listen_fds("    managed: { command: [ gunicorn, app ], listen_fds: true }\n"));
  EXPECT_FALSE(listen_fds("    managed: { command: [ modelgate-backend ], listen_fds: false }\n"));
  EXPECT_EQ(error_of("    managed: { command: [ x ], listen_fds: maybe }\n").key(), "pools[0].managed.listen_fds");
}

TEST(ManagedConfig, RelativeWorkdirResolvesAgainstTheConfigFolder) {
  auto dir = std::filesystem::temp_directory_path();
  auto c = load("    managed: { command: [ x ], workdir: . }\n", dir / "m.yaml");
  EXPECT_EQ(c.pools[0].managed->workdir, (dir / ".").lexically_normal());
  EXPECT_TRUE(c.pools[0].managed->workdir.is_absolute());
  auto rel = load("    managed: { command: [ x ] }\n", "conf/m.yaml");
  EXPECT_TRUE(rel.pools[0].managed->workdir.is_absolute()) << rel.pools[0].managed->workdir;
}

TEST(ManagedConfig, Errors) {
  auto e = error_of("    backends: [ { address: 127.0.0.1:1 } ]\n    managed: { command: [ x ] }\n");
  EXPECT_EQ(e.key(), "pools[0].backends");
  EXPECT_EQ(e.line(), 4);
  EXPECT_NE(std::string(e.what()).find("managed"), std::string::npos) << e.what();

  EXPECT_EQ(error_of("    managed: { max_replicas: 2 }\n").key(), "pools[0].managed.command");
  EXPECT_EQ(error_of("    managed: { command: serve }\n").key(), "pools[0].managed.command");
  EXPECT_EQ(error_of("    managed: { command: [] }\n").key(), "pools[0].managed.command");
  EXPECT_EQ(error_of("    managed: { command: [ [ a ] ] }\n").key(), "pools[0].managed.command[0]");
  EXPECT_EQ(error_of("    managed: { command: [ \"\" ] }\n").key(), "pools[0].managed.command[0]");
  EXPECT_EQ(error_of("    managed: [ x ]\n").key(), "pools[0].managed");

  const std::string m = "    managed:\n      command: [ x ]\n";
  auto unknown = error_of(m + "      replicas: 3\n");
  EXPECT_EQ(unknown.key(), "pools[0].managed.replicas");
  EXPECT_EQ(unknown.line(), 6);
  EXPECT_EQ(unknown.column(), 7);
  EXPECT_EQ(error_of(m + "      host: localhost\n").key(), "pools[0].managed.host");
  EXPECT_EQ(error_of(m + "      max_replicas: 0\n").key(), "pools[0].managed.max_replicas");
  EXPECT_EQ(error_of(m + "      max_replicas: 65\n").key(), "pools[0].managed.max_replicas");
  EXPECT_EQ(error_of(m + "      max_replicas: 2\n      min_replicas: 3\n").key(), "pools[0].managed.min_replicas");
  EXPECT_EQ(error_of(m + "      min_replicas: 2\n").key(), "pools[0].managed.min_replicas")
      << "max_replicas defaults to 1";
  EXPECT_EQ(error_of(m + "      target_queue_depth: 0\n").key(), "pools[0].managed.target_queue_depth");
  EXPECT_EQ(error_of(m + "      target_queue_depth: -1\n").key(), "pools[0].managed.target_queue_depth");
  EXPECT_EQ(error_of(m + "      scale_window: soon\n").key(), "pools[0].managed.scale_window");
  EXPECT_EQ(error_of(m + "      stop_timeout: 0s\n").key(), "pools[0].managed.stop_timeout");
  EXPECT_EQ(error_of(m + "      ready_path: ready\n").key(), "pools[0].managed.ready_path");
  EXPECT_EQ(error_of(m + "      workdir: /nonexistent/modelgate-test\n").key(), "pools[0].managed.workdir");
}

TEST(ManagedConfig, MinReplicasMayBeZero) {
  auto c = load("    managed: { command: [ x ], min_replicas: 0, max_replicas: 64 }\n");
  EXPECT_EQ(c.pools[0].managed->min_replicas, 0u);
  EXPECT_EQ(c.pools[0].backends.size(), 64u);
  EXPECT_EQ(c.pools[0].backends[63].label(), "replica#63");
}

TEST(ManagedConfig, UnchangedPoolsCompareEqual) {
  const std::string body = R"(    policy: consistent_hash
    hash_key: header:x-session-id
    health: { path: /ready }
    load_report: { header: endpoint-load-metrics, scrape: { metric: q } }
    retries: { on: [ connect_failure, 503 ] }
    managed: { command: [ x, "{port}" ], max_replicas: 3 }
)";
  auto a = load(body);
  auto b = load(body);
  EXPECT_EQ(a.pools[0], b.pools[0]);
  auto c = load(body + "    panic: false\n");
  EXPECT_NE(a.pools[0], c.pools[0]);
  auto d = load(R"(    policy: consistent_hash
    hash_key: header:x-session-id
    health: { path: /ready }
    load_report: { header: endpoint-load-metrics, scrape: { metric: q } }
    retries: { on: [ connect_failure, 503 ] }
    managed: { command: [ x, "{port}" ], max_replicas: 3, target_queue_depth: 8 }
)");
  EXPECT_NE(a.pools[0], d.pools[0]);
  EXPECT_EQ(a.pools[0].backends, d.pools[0].backends);

  // Plain pools too (backends, TLS, DNS slots).
  const std::string plain = "    backends: [ { address: a.b:1, max_addresses: 2, tls: { verify: false } } ]\n";
  EXPECT_EQ(load(plain).pools[0], load(plain).pools[0]);
  EXPECT_NE(load(plain).pools[0], load(plain + "    connect_timeout: 1s\n").pools[0]);
}
