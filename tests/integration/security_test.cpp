// The security review's findings (issue 14) against the real binary, each of which passed before:
// bounded read buffers (chunk extensions, trailers), slow bodies and per-address connection
// limits, request targets and paths (RFC 9112 §3.2), and the forwarding headers a client sends.

#include "tests/integration/proxy_fixture.hpp"

#include <atomic>
#include <mutex>
#include <thread>

namespace {

constexpr double mib = 1024.0 * 1024.0;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizer allocators keep freed memory in quarantine: peak RSS says little there.
constexpr double peak_growth_bound = 1024 * mib;
#else
constexpr double peak_growth_bound = 24 * mib;
#endif

// Sends `prefix`, then `piece` again and again until the proxy answers (the socket becomes
// readable), a write fails, or `total` bytes went out. Returns the bytes sent after the prefix.
std::size_t flood(ts::http_client& c, const std::string& prefix, const std::string& piece,
                  std::size_t total) {
  c.write_raw(prefix);
  std::size_t sent = 0;
  while (sent < total && !c.wait_readable(0ms)) {
    if (c.try_write_raw(piece)) break;
    sent += piece.size();
  }
  return sent;
}

std::string repeated(std::string_view unit, std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += unit;
  return out;
}

class SecurityTest : public ProxyTest {
 protected:
  // Plain listener: the floods below are about parsing, not TLS.
  ts::proxy_config plain() const {
    auto c = config();
    c.tls = false;
    c.access_log = "off";
    return c;
  }
  ts::http_client connect() const {
    auto c = ts::http_client::connect(proxy->listener_port(0));
    c.set_timeout(10s);
    return c;
  }
  // A raw request with `target` and headers; the response.
  ts::response raw(const std::string& request_line, const std::string& headers = "Host: a\r\n") {
    auto c = connect();
    c.write_raw(request_line + "\r\n" + headers + "\r\n");
    return c.read_response();
  }
};

// One keyless POST with a chunk header "4;" and 300 MiB of extension bytes took the proxy from
// 13 to 537 MB and was then forwarded with 200.
TEST_F(SecurityTest, AnEndlessChunkExtensionIsRefusedWithoutBeingBuffered) {
  start(plain());
  ASSERT_EQ(connect().get("/v1/warm-up").result_int(), 200);
  const double peak_before = static_cast<double>(proxy->peak_rss_bytes());
  auto c = connect();
  const auto sent = flood(c, "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;",
                          std::string(64 * 1024, 'e'), 64 * 1024 * 1024);
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(res.body().find("chunk_metadata_too_large"), std::string::npos) << res.body();
  EXPECT_LT(static_cast<double>(sent), 16 * mib) << "the proxy answered only after the flood";
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_EQ(upstream.requests(), 1u) << "only the warm-up reached the upstream";
  EXPECT_LT(static_cast<double>(proxy->peak_rss_bytes()) - peak_before, peak_growth_bound);
  EXPECT_EQ(connect().get("/v1/after").result_int(), 200);
}

// 200 MiB of trailers took the proxy from 12 to 283 MB.
TEST_F(SecurityTest, EndlessTrailersAreRefusedWithoutBeingBuffered) {
  start(plain());
  ASSERT_EQ(connect().get("/v1/warm-up").result_int(), 200);
  const double peak_before = static_cast<double>(proxy->peak_rss_bytes());
  auto c = connect();
  const auto sent =
      flood(c, "POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
            repeated("X-Trailer: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 64 * 1024),
            64 * 1024 * 1024);
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_LT(static_cast<double>(sent), 16 * mib);
  EXPECT_TRUE(c.wait_closed(3s));
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_LT(static_cast<double>(proxy->peak_rss_bytes()) - peak_before, peak_growth_bound);
}

// Chunk extensions and trailers of ordinary size still pass (and trailers are not forwarded).
TEST_F(SecurityTest, OrdinaryChunkExtensionsAndTrailersPass) {
  start(plain());
  auto c = connect();
  c.write_raw("POST /v1/x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
              "5;name=value\r\nhello\r\n0\r\nX-Checksum: 1234\r\n\r\n");
  EXPECT_EQ(c.read_response().result_int(), 200);
  EXPECT_EQ(upstream.last_request().body, "hello");
}

// 50 keyless connections sending a body byte every 2 s held all max_connections: 50 for > 26 s.
TEST_F(SecurityTest, ABodyThatTricklesIsCutOffAt408) {
  auto cfg = plain();
  cfg.limits_yaml = "  body_timeout: 1s\n  min_body_rate: 1000\n";
  start(cfg);
  auto c = connect();
  c.write_raw("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n");
  const auto began = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  while (!c.wait_readable(300ms) && std::chrono::steady_clock::now() - began < 8s)
    if ((ec = c.try_write_raw("x"))) break;
  auto res = c.read_response();
  EXPECT_EQ(res.result_int(), 408);
  EXPECT_NE(res.body().find("body_timeout"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - began, 4s);
  EXPECT_EQ(upstream.requests(), 0u);
}

// A body at a useful rate may take longer than body_timeout: every min_body_rate bytes buy a
// second more.
TEST_F(SecurityTest, ASlowButSteadyBodyIsRead) {
  auto cfg = plain();
  cfg.limits_yaml = "  body_timeout: 1s\n  min_body_rate: 1000\n";
  start(cfg);
  auto c = connect();
  const std::string piece(2000, 'b');
  c.write_raw("POST /v1/x HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(6 * piece.size()) +
              "\r\n\r\n");
  for (int i = 0; i < 6; ++i) {  // 12,000 bytes over 2.4 s: 5,000 B/s
    std::this_thread::sleep_for(400ms);
    c.write_raw(piece);
  }
  EXPECT_EQ(c.read_response().result_int(), 200);
  EXPECT_EQ(upstream.last_request().body.size(), 6 * piece.size());
}

TEST_F(SecurityTest, OneAddressGetsAtMostMaxConnectionsPerIp) {
  auto cfg = plain();
  cfg.limits_yaml = "  max_connections_per_ip: 3\n";
  start(cfg);
  std::vector<ts::http_client> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(connect());
    EXPECT_EQ(held.back().get("/v1/x").result_int(), 200);
  }
  auto fourth = connect();
  EXPECT_TRUE(fourth.wait_closed(3s)) << "a fourth connection from 127.0.0.1 must be closed";
  EXPECT_EQ(metric("modelgate_downstream_connections_rejected_per_ip_total"), 1.0);
  held.pop_back();  // one closes: a new one is served again
  EXPECT_TRUE(ts::eventually([&] {
    try {
      return connect().get("/v1/x").result_int() == 200;
    } catch (const std::exception&) {
      return false;
    }
  }));
}

// Paths an upstream could read differently from the route table: 400, nothing forwarded.
TEST_F(SecurityTest, DotSegmentsAndEncodedSeparatorsAreRefused) {
  auto cfg = plain();
  cfg.more_routes = "  - { path_prefix: /health/, pool: text }\n";
  start(cfg);
  for (const char* target :
       {"/v1/chat/../completions", "/v1/chat/%2e%2e/completions", "/v1/chat/%2E%2E/completions",
        "/v1/chat/./completions", "/health/../v1/completions", "/v1/models#/../completions",
        "/v1/a%2fb", "/v1/a%5Cb", "/v1/a\\b", "/v1/a%00b", "/v1/..;/completions", "/v1/..",
        "/v1/a%zzb"}) {
    SCOPED_TRACE(target);
    auto res = raw(std::string("GET ") + target + " HTTP/1.1");
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(res.body().find("bad_target"), std::string::npos) << res.body();
  }
  EXPECT_EQ(upstream.requests(), 0u);
  // Dots elsewhere are ordinary characters; the query is not a path.
  for (const char* target : {"/v1/models/gpt-3.5", "/v1/..hidden/x", "/v1/x?next=/../y"}) {
    SCOPED_TRACE(target);
    EXPECT_EQ(raw(std::string("GET ") + target + " HTTP/1.1").result_int(), 200);
    EXPECT_EQ(upstream.last_request().target, target);
  }
}

// RFC 9112 §3.2: a target that is neither origin-, absolute- nor asterisk-form is a 400, not a
// 404; absolute-form MUST be accepted, its authority replacing Host.
TEST_F(SecurityTest, RequestTargetForms) {
  start(plain());
  for (const char* line : {"GET ! HTTP/1.1", "GET foo HTTP/1.1", "GET * HTTP/1.1",
                           "GET ftp://a/v1/x HTTP/1.1", "GET http://user@a/v1/x HTTP/1.1",
                           "CONNECT a:443 HTTP/1.1"}) {
    SCOPED_TRACE(line);
    EXPECT_EQ(raw(line).result_int(), 400);
  }
  EXPECT_EQ(upstream.requests(), 0u);
  auto res = raw("GET http://api.example.com:8080/v1/models?x=1 HTTP/1.1", "Host: other\r\n");
  EXPECT_EQ(res.result_int(), 200);
  const auto up = upstream.last_request();
  EXPECT_EQ(up.target, "/v1/models?x=1");
  EXPECT_EQ(up.values("host"), std::vector<std::string>{"api.example.com:8080"});
  EXPECT_EQ(raw("GET http://a HTTP/1.1").result_int(), 404) << "no route for /";
}

TEST_F(SecurityTest, AnHttp11RequestWithoutHostIs400) {
  start(plain());
  auto res = raw("GET /v1/x HTTP/1.1", "");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_NE(res.body().find("missing_host"), std::string::npos);
  EXPECT_EQ(raw("GET /v1/x HTTP/1.0", "").result_int(), 200) << "HTTP/1.0 may omit Host";
  EXPECT_EQ(upstream.requests(), 1u);
}

TEST_F(SecurityTest, ConnectionCannotStripHost) {
  start(plain());
  EXPECT_EQ(raw("GET /v1/x HTTP/1.1", "Host: api.example.com\r\nConnection: host\r\n").result_int(),
            200);
  EXPECT_EQ(upstream.last_request().value("host"), "api.example.com");
}

TEST_F(SecurityTest, AClientsForwardingHeadersAreReplacedOrDropped) {
  start(plain());
  const std::string forged =
      "Host: a\r\nX-Forwarded-For: 10.9.9.9\r\nX-Real-IP: 10.9.9.9\r\n"
      "X-Forwarded-Host: admin.internal\r\nForwarded: for=10.9.9.9;host=admin.internal\r\n"
      "X-Forwarded-Proto: https\r\n";
  EXPECT_EQ(raw("GET /v1/x HTTP/1.1", forged).result_int(), 200);
  auto up = upstream.last_request();
  EXPECT_EQ(up.values("x-forwarded-for"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(up.values("x-real-ip"), std::vector<std::string>{"127.0.0.1"});
  EXPECT_EQ(up.value("x-forwarded-proto"), "http");
  EXPECT_FALSE(up.has("x-forwarded-host"));
  EXPECT_FALSE(up.has("forwarded"));
}

TEST_F(SecurityTest, ATrustedProxysForwardingHeadersAreKept) {
  auto cfg = plain();
  cfg.extra_yaml = "trusted_proxies: [ 127.0.0.0/8 ]\n";
  start(cfg);
  EXPECT_EQ(raw("GET /v1/x HTTP/1.1",
                "Host: a\r\nX-Forwarded-For: 203.0.113.5\r\nX-Forwarded-Host: api.example.com\r\n"
                "X-Forwarded-Proto: https\r\n")
                .result_int(),
            200);
  auto up = upstream.last_request();
  EXPECT_EQ(up.value("x-forwarded-for"), "203.0.113.5, 127.0.0.1");
  EXPECT_EQ(up.value("x-forwarded-host"), "api.example.com");
  EXPECT_EQ(up.value("x-forwarded-proto"), "https");
}

// Three backends, twelve concurrent clients, one backend killed: two requests got
// `502 upstream_connect_failed` within 0.5 ms although two backends were healthy, because the
// retry budget was spent at once by requests that could not even connect.
TEST_F(SecurityTest, AKilledBackendUnderLoadCostsNoClientAnError) {
  std::vector<std::unique_ptr<ts::fake_upstream>> ups;
  for (int i = 0; i < 3; ++i) ups.push_back(std::make_unique<ts::fake_upstream>());
  auto cfg = plain();
  cfg.backends.clear();
  for (const auto& u : ups) cfg.backends.push_back(u->address());
  cfg.pool_yaml = "    retries: { attempts: 3, on: [connect_failure, reset] }\n";
  start(cfg);
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0};
  std::mutex mutex;
  std::vector<std::string> errors;
  std::vector<std::thread> clients;
  for (int t = 0; t < 12; ++t) {
    clients.emplace_back([&] {
      while (!stop) {
        try {
          auto c = connect();
          for (int i = 0; i < 20 && !stop; ++i) {
            auto res = c.get("/v1/x");
            if (res.result_int() == 200) {
              ++ok;
              continue;
            }
            std::lock_guard lock(mutex);
            errors.push_back(std::to_string(res.result_int()) + " " + res.body());
          }
        } catch (const std::exception& e) {
          std::lock_guard lock(mutex);
          errors.push_back(e.what());
        }
      }
    });
  }
  std::this_thread::sleep_for(500ms);
  ups[1].reset();  // killed: its connections close, its port refuses
  std::this_thread::sleep_for(1500ms);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(ok.load(), 100);
  EXPECT_TRUE(errors.empty()) << errors.size() << " errors, the first: " << errors.front();
}

}  // namespace
