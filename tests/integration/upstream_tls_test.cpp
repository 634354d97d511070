// TLS from the proxy to an upstream, verified against a CA given in the backend config.

#include "tests/integration/proxy_fixture.hpp"

class UpstreamTlsTest : public ProxyTest {
 protected:
  // Stop the proxy before the upstream it points at goes away.
  ~UpstreamTlsTest() override { proxy.reset(); }

  ts::cert_files upstream_certs = ts::make_test_certs(dir.path(), "upstream-");
  ts::fake_upstream tls_upstream{
      ts::upstream_tls{upstream_certs.server_cert, upstream_certs.server_key}};

  ts::proxy_config tls_config(const std::string& ca, const std::string& name) const {
    auto c = config();
    c.backends = {tls_upstream.address()};
    c.backend_tls = "{ ca: " + ca + ", server_name: " + name + " }";
    return c;
  }
};

TEST_F(UpstreamTlsTest, VerifiedTlsToTheUpstream) {
  tls_upstream.on("/v1/stream", ts::upstream_behaviour::sse(3, 20ms));
  start(tls_config("upstream-ca.crt", "localhost"));
  auto c = client();
  EXPECT_EQ(c.get("/v1/x").result_int(), 200);
  c.send({http::verb::get, "/v1/stream", 11});
  auto s = c.read_streaming();
  EXPECT_TRUE(s.complete) << s.error.message();
  EXPECT_NE(s.body().find("event 2"), std::string::npos);
  EXPECT_EQ(tls_upstream.requests(), 2u);
  EXPECT_EQ(tls_upstream.connections(), 1u) << "TLS upstream connections are pooled too";
}

TEST_F(UpstreamTlsTest, UpstreamCertificateFromAnotherCaIs502) {
  // The listener's CA did not sign the upstream's certificate.
  start(tls_config("ca.crt", "localhost"));
  auto c = client();
  EXPECT_EQ(c.get("/v1/x").result_int(), 502);
  EXPECT_EQ(tls_upstream.requests(), 0u);
}

TEST_F(UpstreamTlsTest, UpstreamNameMismatchIs502) {
  start(tls_config("upstream-ca.crt", "not-the-upstream.example"));
  auto c = client();
  EXPECT_EQ(c.get("/v1/x").result_int(), 502);
  EXPECT_EQ(tls_upstream.requests(), 0u);
}
