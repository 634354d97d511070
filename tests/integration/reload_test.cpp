// Configuration reload (SIGHUP and POST /admin/reload): a valid file is swapped in while requests
// and streams in flight finish on the old one; a bad file changes nothing.

#include <csignal>

#include "tests/integration/proxy_fixture.hpp"
#include "tests/support/wait.hpp"

namespace {

class ReloadTest : public ProxyTest {
 protected:
  /// Rewrites the running proxy's config file.
  void rewrite(const ts::proxy_config& c) { dir.write("modelgate.yaml", c.to_yaml()); }

  bool generation_becomes(double g) {
    return ts::eventually([&] { return metric("modelgate_config_generation") == g; }, 5s);
  }

  /// POST /admin/reload: status and body.
  std::pair<unsigned, std::string> admin_reload() {
    auto a = ts::http_client::connect(proxy->admin_port());
    auto r = a.post("/admin/reload", "", {{"Content-Type", "application/json"}});
    return {r.result_int(), r.body()};
  }

  ts::proxy_config with_second_pool() const {
    auto c = config();
    c.more_pools = "  - name: extra\n    backends: [ { address: " + second.address() + " } ]\n";
    c.more_routes = "  - { path_prefix: /v2/, pool: extra }\n";
    return c;
  }

  ts::fake_upstream second;
};

}  // namespace

TEST_F(ReloadTest, SighupAddsARouteAndABackendWhileAStreamRuns) {
  upstream.on("/v1/stream", ts::upstream_behaviour::sse(15, 100ms));
  second.otherwise(ts::upstream_behaviour::fixed(200, "second\n"));
  start();
  auto streaming = client();
  streaming.send({http::verb::get, "/v1/stream", 11});
  ts::streamed_response s;
  streaming.read_header(s);
  ASSERT_EQ(s.header.result_int(), 200);

  auto c = client();
  EXPECT_EQ(c.get("/v2/x").result_int(), 404);
  rewrite(with_second_pool());
  proxy->signal(SIGHUP);
  ASSERT_TRUE(generation_becomes(2)) << proxy->stderr_log();

  // The same keep-alive connection sees the new route; the old one still works.
  auto r = c.get("/v2/x");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "second\n");
  EXPECT_EQ(c.get("/v1/y").result_int(), 200);

  // The stream that started before the reload finishes whole.
  while (streaming.read_piece(s)) {
  }
  EXPECT_TRUE(s.complete) << s.error.message();
  for (int i = 0; i < 15; ++i)
    EXPECT_NE(s.body().find("data: event " + std::to_string(i) + "\n\n"), std::string::npos) << i;
  EXPECT_EQ(metric("modelgate_config_reloads_total{result=\"success\"}"), 1);
}

TEST_F(ReloadTest, ABadFileIsRejectedAndTheRunningConfigStays) {
  start();
  auto c = client();
  ASSERT_EQ(c.get("/v1/a").result_int(), 200);
  dir.write("modelgate.yaml", config().to_yaml() + "bogus_key: 1\n");
  auto [status, body] = admin_reload();
  EXPECT_EQ(status, 400u) << body;
  EXPECT_NE(body.find("modelgate.yaml:"), std::string::npos) << body;
  EXPECT_NE(body.find("bogus_key"), std::string::npos) << body;
  EXPECT_NE(body.find("\"generation\":1"), std::string::npos) << body;

  // A TLS key that does not exist is rejected too (checked before the swap).
  auto missing_key = config();
  missing_key.key = "nowhere.key";
  rewrite(missing_key);
  proxy->signal(SIGHUP);
  EXPECT_TRUE(ts::eventually(
      [&] { return metric("modelgate_config_reloads_total{result=\"failure\"}") == 2; }, 5s));
  EXPECT_EQ(metric("modelgate_config_generation"), 1);
  EXPECT_NE(proxy->stderr_log().find("config reload rejected"), std::string::npos);

  // Still serving, on the same and on new connections.
  EXPECT_EQ(c.get("/v1/b").result_int(), 200);
  EXPECT_EQ(client().get("/v1/c").result_int(), 200);

  // Fixed, it loads.
  rewrite(config());
  auto [ok_status, ok_body] = admin_reload();
  EXPECT_EQ(ok_status, 200u) << ok_body;
  EXPECT_NE(ok_body.find("\"generation\":2"), std::string::npos) << ok_body;
}

TEST_F(ReloadTest, UnchangedBackendsKeepTheirPooledConnections) {
  start();
  auto c = client();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(c.get("/v1/warm").result_int(), 200);
  const auto opened = upstream.connections();
  rewrite(with_second_pool());
  auto [status, body] = admin_reload();
  ASSERT_EQ(status, 200u) << body;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.get("/v1/again").result_int(), 200);
  // Two workers may each hold one pooled connection; the reload adds none.
  EXPECT_EQ(upstream.connections(), opened) << "a reload must not drop pooled connections";
}

TEST_F(ReloadTest, ReloadRemovesARouteAndMovesAListenerToNewCertificates) {
  start(with_second_pool());
  auto c = client();
  ASSERT_EQ(c.get("/v2/x").result_int(), 200);
  // New certificates from a new CA: new connections get them, the old one goes on.
  auto fresh = ts::make_test_certs(dir.path(), "new-");
  auto next = config();
  next.cert = "new-server.crt";
  next.key = "new-server.key";
  rewrite(next);
  auto [status, body] = admin_reload();
  ASSERT_EQ(status, 200u) << body;
  EXPECT_EQ(c.get("/v2/x").result_int(), 404) << "the route was removed";
  EXPECT_EQ(c.get("/v1/x").result_int(), 200);
  auto renewed = ts::http_client::connect_tls(proxy->listener_port(0), fresh.ca_cert);
  EXPECT_EQ(renewed.get("/v1/x").result_int(), 200);
  EXPECT_THROW(ts::http_client::connect_tls(proxy->listener_port(0), certs.ca_cert),
               boost::system::system_error)
      << "the old certificate is still served";
}
