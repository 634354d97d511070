// The process: --check-config, --version, admin endpoints and metrics, graceful drain.

#include <unistd.h>

#include <csignal>
#include <cstdlib>

#include "tests/integration/proxy_fixture.hpp"
#include "tests/support/child_process.hpp"

namespace {

ts::command_result run_modelgate(const ts::temp_dir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), MODELGATE_BIN);
  return ts::run_command(args, dir.path());
}

}  // namespace

TEST_F(ProxyTest, CheckConfigAcceptsAValidFile) {
  auto file = dir.write("good.yaml", config().to_yaml());
  auto r = run_modelgate(dir, {"--check-config", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ProxyTest, CheckConfigNamesLineAndUnknownTopLevelKey) {
  auto file = dir.write("bad.yaml",
                        "workers: 1\n"
                        "listeners:\n"
                        "  - address: 127.0.0.1:0\n"
                        "admin: { address: 127.0.0.1:0 }\n"
                        "bogus_key: 1\n"
                        "pools:\n"
                        "  - name: text\n"
                        "    backends: [ { address: 127.0.0.1:9, weight: 1 } ]\n"
                        "routes:\n"
                        "  - { path_prefix: /v1/, pool: text }\n");
  auto r = run_modelgate(dir, {"--check-config", file.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("bad.yaml:5:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bogus_key"), std::string::npos) << r.err;
}

TEST_F(ProxyTest, CheckConfigNamesLineAndMisspelledNestedKey) {
  auto file = dir.write("typo.yaml",
                        "workers: 1\n"
                        "listeners:\n"
                        "  - address: 127.0.0.1:0\n"
                        "pools:\n"
                        "  - name: text\n"
                        "    backends: [ { address: 127.0.0.1:9, weight: 1 } ]\n"
                        "    conect_timeout: 2s\n"
                        "routes:\n"
                        "  - { path_prefix: /v1/, pool: text }\n");
  auto r = run_modelgate(dir, {"--check-config", file.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("typo.yaml:7:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("conect_timeout"), std::string::npos) << r.err;
}

TEST_F(ProxyTest, VersionAndHelp) {
  auto v = run_modelgate(dir, {"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("modelgate"), std::string::npos) << v.out;
  auto h = run_modelgate(dir, {"--help"});
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.out.find("--check-config"), std::string::npos) << h.out;
}

TEST_F(ProxyTest, MetricsCountRequestsAndPassPromtool) {
  start();
  auto c = client();
  ASSERT_EQ(c.get("/v1/x").result_int(), 200);
  ASSERT_EQ(c.get("/nowhere").result_int(), 404);
  EXPECT_EQ(proxy->admin_get("/healthz").empty(), false);
  // Counters may be updated just after the response is written: poll.
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_requests_total") >= 2; }, 2s))
      << metrics();
  auto text = metrics();
  EXPECT_NE(text.find("# TYPE modelgate_requests_total counter"), std::string::npos) << text;
  if (!ts::find_program("promtool")) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  auto file = dir.write("metrics.txt", text);
  auto r = ts::run_command({"promtool", "check", "metrics"}, dir.path(), file);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "promtool lint findings";
}

TEST_F(ProxyTest, SigtermDrainsInFlightRequestsThenExits0) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "finished").with_delay(1s));
  start();
  auto c = client();
  auto begin = ts::steady_clock::now();
  c.send({http::verb::get, "/v1/slow", 11});
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 1; }, 2s));

  proxy->signal(SIGTERM);
  const auto port = proxy->listener_port(0);
  EXPECT_TRUE(ts::eventually([&] { return bool(ts::http_client::try_connect(port)); }, 800ms))
      << "new connections still accepted while draining";
  try {
    auto admin = ts::http_client::connect(proxy->admin_port());
    EXPECT_EQ(admin.get("/readyz").result_int(), 503) << "not ready while draining";
  } catch (const boost::system::system_error&) {
    // An admin listener already closed also says "not ready".
  }
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "finished");
  EXPECT_GE(ts::steady_clock::now() - begin, 950ms);
  EXPECT_FALSE(res.keep_alive()) << "a response during the drain should say Connection: close";
  // The proxy may wait briefly for our TLS close_notify; a client that is done just closes.
  c.close();
  EXPECT_EQ(proxy->wait_exit(2s), 0);
}

TEST_F(ProxyTest, SigintAlsoStopsAnIdleProxyPromptly) {
  start();
  auto begin = ts::steady_clock::now();
  proxy->signal(SIGINT);
  EXPECT_EQ(proxy->wait_exit(3s), 0);
  EXPECT_LT(ts::steady_clock::now() - begin, 1s);
}

TEST_F(ProxyTest, IdleKeepAliveConnectionsDoNotHoldUpTheDrain) {
  start();
  auto c = client();
  ASSERT_EQ(c.get("/v1/x").result_int(), 200);
  auto begin = ts::steady_clock::now();
  proxy->signal(SIGTERM);
  EXPECT_TRUE(c.wait_closed(2s));
  // Like most clients, close once the server has (without answering its close_notify).
  c.close();
  EXPECT_EQ(proxy->wait_exit(2s), 0);
  EXPECT_LT(ts::steady_clock::now() - begin, 1s);
}

TEST_F(ProxyTest, DrainTimeoutBoundsTheWaitForSlowRequests) {
  upstream.on("/v1/slower", ts::upstream_behaviour::fixed(200, "never").with_delay(5s));
  auto cfg = config();
  cfg.drain_timeout = "500ms";
  start(cfg);
  auto c = client();
  c.send({http::verb::get, "/v1/slower", 11});
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 1; }, 2s));
  auto begin = ts::steady_clock::now();
  proxy->signal(SIGTERM);
  auto code = proxy->wait_exit(3s);
  ASSERT_TRUE(code) << "still running 3 s after SIGTERM with a 500 ms drain timeout";
  EXPECT_GE(ts::steady_clock::now() - begin, 450ms);
  EXPECT_LT(ts::steady_clock::now() - begin, 2s);
  EXPECT_TRUE(c.wait_closed(1s));
}
