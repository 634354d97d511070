// TLS client and certificate maker against `openssl s_server`.

#include "tests/support/http_client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>

#include "tests/support/cert_maker.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/fake_upstream.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/wait.hpp"

namespace ts = modelgate::test_support;
using namespace std::chrono_literals;

namespace {

struct tls_server {
  ts::temp_dir dir;
  ts::cert_files certs = ts::make_test_certs(dir.path());
  std::uint16_t port = ts::unused_port();
  ts::child_process server{
      {"openssl", "s_server", "-quiet", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
       certs.server_cert.string(), "-key", certs.server_key.string(), "-alpn", "http/1.1", "-www"},
      {{}, dir.file("s_server.out"), dir.file("s_server.err")}};
  tls_server() {
    bool up = ts::eventually([&] { return !ts::http_client::try_connect(port); }, 5s);
    if (!up) throw std::runtime_error("s_server did not start: " + dir.read("s_server.err"));
  }
};

}  // namespace

TEST(CertMaker, WritesAChainThatOpensslVerifies) {
  ts::temp_dir dir;
  auto certs = ts::make_test_certs(dir.path());
  auto r = ts::run_command({"openssl", "verify", "-CAfile", certs.ca_cert.string(), "-verify_ip",
                            "127.0.0.1", certs.server_cert.string()},
                           dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

TEST(HttpClient, TlsVerifiesAgainstTheTestCa) {
  tls_server s;
  auto c = ts::http_client::connect_tls(s.port, s.certs.ca_cert);
  EXPECT_EQ(c.alpn(), "http/1.1");
  c.write_raw("GET / HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(c.wait_readable(2s));
}

TEST(HttpClient, TlsAcceptsTheIpAddressName) {
  tls_server s;
  EXPECT_NO_THROW(ts::http_client::connect_tls(s.port, s.certs.ca_cert, "127.0.0.1"));
}

TEST(HttpClient, TlsRejectsAWrongNameOrAnUnknownCa) {
  tls_server s;
  EXPECT_THROW(ts::http_client::connect_tls(s.port, s.certs.ca_cert, "example.com"),
               boost::system::system_error);
  auto other = ts::make_test_certs(s.dir.path(), "other-");
  EXPECT_THROW(ts::http_client::connect_tls(s.port, other.ca_cert), boost::system::system_error);
}

TEST(HttpClient, TryConnectReportsRefusal) {
  EXPECT_EQ(ts::http_client::try_connect(ts::unused_port()),
            boost::asio::error::connection_refused);
}

TEST(FakeUpstream, ServesOverTls) {
  ts::temp_dir dir;
  auto certs = ts::make_test_certs(dir.path());
  ts::fake_upstream up(ts::upstream_tls{certs.server_cert, certs.server_key});
  up.on("/sse", ts::upstream_behaviour::sse(3, 10ms));
  auto c = ts::http_client::connect_tls(up.port(), certs.ca_cert);
  EXPECT_EQ(c.get("/x").body(), "ok\n");
  c.send({ts::http::verb::get, "/sse", 11});
  auto s = c.read_streaming();
  EXPECT_TRUE(s.complete);
  EXPECT_NE(s.body().find("event 2"), std::string::npos);
  EXPECT_EQ(up.connections(), 1u);
}
