// Client-side TLS: only TLS 1.2/1.3 with AEAD suites are accepted, and listeners with
// `tls.client_ca` authenticate clients by certificate (mTLS).

#include "tests/integration/proxy_fixture.hpp"

#include <openssl/ssl.h>

namespace {

// Whether a client with `opts` gets a 200 for GET /v1/x. Over TLS 1.3 the server checks the
// client's certificate after the client has finished its handshake, so a refusal may only
// show on the first read: both count as "not served".
bool served(std::uint16_t port, const ts::cert_files& certs, const ts::tls_options& opts,
            std::string* why = nullptr) {
  try {
    auto c = ts::http_client::connect_tls(port, certs.ca_cert, "localhost", opts);
    c.set_timeout(2s);
    return c.get("/v1/x").result_int() == 200;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

// A client limited to protocol versions [min, max] (0: no limit) offering `ciphers`.
ts::tls_options speaking(int min, int max, std::string ciphers = "") {
  ts::tls_options o;
  o.min_version = min;
  o.max_version = max;
  o.ciphers = std::move(ciphers);
  return o;
}

// A client of exactly protocol `version` offering only key exchange `groups`.
ts::tls_options with_groups(int version, std::string groups) {
  auto o = speaking(version, version);
  o.groups = std::move(groups);
  return o;
}

// TLS 1.2 (and older) cipher lists an old or misconfigured client might offer alone.
constexpr const char* cbc_only =
    "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-ECDSA-AES128-SHA256:"
    "ECDHE-ECDSA-AES256-SHA384:ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:AES128-SHA:AES256-SHA:"
    "AES128-SHA256:AES256-SHA256:@SECLEVEL=0";
constexpr const char* static_rsa_aead = "AES128-GCM-SHA256:AES256-GCM-SHA384:@SECLEVEL=0";

}  // namespace

TEST_F(ProxyTest, Tls13AndTls12AeadSuitesAreServed) {
  start();
  const auto port = proxy->listener_port(0);
  {
    auto c = ts::http_client::connect_tls(port, certs.ca_cert, "localhost",
                                          speaking(TLS1_3_VERSION, 0));
    EXPECT_EQ(c.get("/v1/x").result_int(), 200);
    EXPECT_EQ(c.tls_version(), "TLSv1.3");
    const auto suite = c.tls_cipher();
    EXPECT_TRUE(suite == "TLS_AES_128_GCM_SHA256" || suite == "TLS_AES_256_GCM_SHA384" ||
                suite == "TLS_CHACHA20_POLY1305_SHA256")
        << suite;
  }
  for (const char* suite : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                            "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
    auto c = ts::http_client::connect_tls(port, certs.ca_cert, "localhost",
                                          speaking(TLS1_2_VERSION, TLS1_2_VERSION, suite));
    EXPECT_EQ(c.get("/v1/x").result_int(), 200) << suite;
    EXPECT_EQ(c.tls_version(), "TLSv1.2") << suite;
    EXPECT_EQ(c.tls_cipher(), suite);
  }
  for (const char* group : {"X25519", "P-256", "P-384"}) {
    auto c = ts::http_client::connect_tls(port, certs.ca_cert, "localhost",
                                          with_groups(TLS1_3_VERSION, group));
    EXPECT_EQ(c.get("/v1/x").result_int(), 200) << group;
  }
  EXPECT_EQ(metric("modelgate_tls_handshake_failures_total"), 0);
}

TEST_F(ProxyTest, OldProtocolsAndNonAeadSuitesAreRefused) {
  start();
  const auto port = proxy->listener_port(0);
  struct attempt {
    const char* what;
    ts::tls_options opts;
  };
  const attempt refused[] = {
      {"TLS 1.0", speaking(TLS1_VERSION, TLS1_VERSION, "DEFAULT:@SECLEVEL=0")},
      {"TLS 1.1", speaking(TLS1_1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0")},
      {"TLS 1.2 CBC only", speaking(TLS1_2_VERSION, TLS1_2_VERSION, cbc_only)},
      {"TLS 1.2 static RSA key exchange", speaking(TLS1_2_VERSION, TLS1_2_VERSION, static_rsa_aead)},
      {"TLS 1.3 finite-field key exchange only", with_groups(TLS1_3_VERSION, "ffdhe2048:ffdhe8192")},
      {"TLS 1.2 finite-field key exchange only", with_groups(TLS1_2_VERSION, "ffdhe2048:ffdhe8192")},
  };
  double failures = 0;
  for (const auto& a : refused) {
    std::string why;
    EXPECT_FALSE(served(port, certs, a.opts, &why)) << a.what;
    // The proxy refused it (a client unable to speak at all would not reach the server).
    EXPECT_TRUE(ts::eventually(
        [&] { return metric("modelgate_tls_handshake_failures_total") >= failures + 1; }))
        << a.what << ": " << why;
    failures = metric("modelgate_tls_handshake_failures_total");
  }
  EXPECT_EQ(upstream.requests(), 0u);
  // Refusals cost nothing to others.
  EXPECT_EQ(client().get("/v1/after").result_int(), 200);
}

// curl sends its request in the same flight as its TLS 1.3 Finished message, so the request can
// arrive with the end of the handshake (bytes the TLS layer already holds, not the socket).
TEST_F(ProxyTest, RequestArrivingWithTheHandshakeIsAnswered) {
  if (!ts::find_program("curl")) GTEST_SKIP() << "curl is not installed";
  start();
  const auto port = std::to_string(proxy->listener_port(0));
  for (const char* connection : {"keep-alive", "close", "keep-alive", "close"}) {
    auto r = ts::run_command({"curl", "-sS", "-m", "3", "--tlsv1.3", "--cacert", certs.ca_cert.string(),
                              "--resolve", "localhost:" + port + ":127.0.0.1", "-H",
                              std::string("Connection: ") + connection, "-w", " %{http_code}",
                              "https://localhost:" + port + "/v1/x"},
                             dir.path());
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "ok\n 200") << connection;
  }
}

class MutualTlsTest : public ProxyTest {
 protected:
  void start_mtls(const std::string& tls_yaml) {
    auto cfg = config();
    cfg.listener_tls_yaml = tls_yaml;
    start(cfg);
  }

  ts::tls_options presenting(const ts::client_cert_files& f) const {
    ts::tls_options o;
    o.cert = f.cert;
    o.key = f.key;
    return o;
  }

  ts::cert_files client_ca = ts::make_test_certs(dir.path(), "clients-");
  ts::cert_files other_ca = ts::make_test_certs(dir.path(), "other-");
  ts::client_cert_files alice = ts::make_client_cert(dir.path(), client_ca, "alice");
  ts::client_cert_files mallory = ts::make_client_cert(dir.path(), other_ca, "mallory");
};

TEST_F(MutualTlsTest, RequiredClientCertificateMustComeFromTheClientCa) {
  start_mtls(", client_ca: clients-ca.crt");
  const auto port = proxy->listener_port(0);
  std::string why;
  EXPECT_FALSE(served(port, certs, {}, &why)) << "no client certificate";
  EXPECT_FALSE(served(port, certs, presenting(mallory))) << "certificate from another CA";
  // Signed by the client CA but made for servers (extendedKeyUsage serverAuth only).
  ts::client_cert_files server_use{client_ca.server_cert, client_ca.server_key};
  EXPECT_FALSE(served(port, certs, presenting(server_use))) << "not a client certificate";
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_tls_handshake_failures_total") >= 3; }));
  EXPECT_EQ(upstream.requests(), 0u);

  EXPECT_TRUE(served(port, certs, presenting(alice), &why)) << why;
  auto tls12 = presenting(alice);
  tls12.max_version = TLS1_2_VERSION;
  EXPECT_TRUE(served(port, certs, tls12, &why)) << "TLS 1.2: " << why;
  EXPECT_EQ(upstream.requests(), 2u);
}

TEST_F(MutualTlsTest, OptionalClientCertificateStillHasToVerify) {
  start_mtls(", client_ca: clients-ca.crt, require_client_cert: false");
  const auto port = proxy->listener_port(0);
  std::string why;
  EXPECT_TRUE(served(port, certs, {}, &why)) << "no certificate is allowed: " << why;
  EXPECT_TRUE(served(port, certs, presenting(alice), &why)) << why;
  EXPECT_FALSE(served(port, certs, presenting(mallory))) << "a presented certificate must verify";
}

// The verified client certificate's identity reaches the backend in X-Forwarded-Client-Cert
// (Envoy's format); a value a client sends itself never does.
TEST_F(MutualTlsTest, TheBackendLearnsTheVerifiedClientAndNeverAForgedOne) {
  start_mtls(", client_ca: clients-ca.crt, require_client_cert: false");
  const auto port = proxy->listener_port(0);
  const ts::header_list forged{{"X-Forwarded-Client-Cert", "Hash=00;Subject=\"CN=admin\""}};

  auto c = ts::http_client::connect_tls(port, certs.ca_cert, "localhost", presenting(alice));
  ASSERT_EQ(c.get("/v1/x", forged).result_int(), 200);
  auto xfcc = upstream.last_request().values("x-forwarded-client-cert");
  ASSERT_EQ(xfcc.size(), 1u);
  // The SHA-256 of the certificate, as openssl prints it: "sha256 Fingerprint=AB:CD:...".
  auto fp = ts::run_command({"openssl", "x509", "-in", alice.cert.string(), "-noout", "-fingerprint", "-sha256"},
                            dir.path());
  ASSERT_EQ(fp.exit_code, 0) << fp.err;
  std::string hash;
  for (char ch : fp.out.substr(fp.out.find('=') + 1))
    if (std::isxdigit(static_cast<unsigned char>(ch))) hash += static_cast<char>(std::tolower(ch));
  ASSERT_EQ(hash.size(), 64u) << fp.out;
  EXPECT_EQ(xfcc[0], "Hash=" + hash + ";Subject=\"CN=alice\"");

  // Without a certificate (allowed here) the forged header is removed, not passed on.
  auto anonymous = ts::http_client::connect_tls(port, certs.ca_cert, "localhost", {});
  ASSERT_EQ(anonymous.get("/v1/x", forged).result_int(), 200);
  EXPECT_TRUE(upstream.last_request().values("x-forwarded-client-cert").empty());
}
