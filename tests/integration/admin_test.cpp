// The admin listener against web pages and oversized requests (issue 14): a request with an
// Origin, a foreign Host or a simple content type changes nothing; every answer says nosniff and
// no-store; a request that does not fit the bounded read buffer is refused without the proxy's
// memory growing with it.

#include "tests/integration/proxy_fixture.hpp"

#include <fstream>
#include <string>
#include <vector>

namespace {

const ts::header_list json{{"Content-Type", "application/json"}};

class AdminTest : public ProxyTest {
 protected:
  ts::response admin_post(std::string_view target, const ts::header_list& headers) const {
    auto a = ts::http_client::connect(proxy->admin_port());
    return a.post(target, "", headers);
  }

  double reloads() const { return metric("modelgate_config_reloads_total{result=\"success\"}"); }

  /// Peak resident set size (VmHWM of /proc/PID/status), bytes.
  std::size_t peak_rss() const {
    std::ifstream status("/proc/" + std::to_string(proxy->pid()) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
  }
};

ts::header_list with(ts::header_list h, std::string name, std::string value) {
  h.emplace_back(std::move(name), std::move(value));
  return h;
}

void expect_admin_headers(const ts::response& r) {
  EXPECT_EQ(r["x-content-type-options"], "nosniff") << r.result_int();
  EXPECT_EQ(r[http::field::cache_control], "no-store") << r.result_int();
}

}  // namespace

TEST_F(AdminTest, ReloadFromAWebPageIsRefusedAndNothingIsReloaded) {
  start();
  const auto port = std::to_string(proxy->admin_port());

  auto origin = admin_post("/admin/reload", with(json, "Origin", "http://evil.example"));
  EXPECT_EQ(origin.result_int(), 403) << origin.body();
  expect_admin_headers(origin);
  // DNS rebinding: the page's own name, pointing at the admin address.
  for (const std::string& host : std::vector<std::string>{"evil.example", "evil.example:" + port,
                                                          "localhost.evil.example", "localhost:80x"})
    EXPECT_EQ(admin_post("/admin/reload", with(json, "Host", host)).result_int(), 403) << host;
  // What a form or a no-cors fetch() can send without a preflight.
  auto text = admin_post("/admin/reload", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(text.result_int(), 415) << text.body();
  expect_admin_headers(text);
  const ts::header_list form{{"Content-Type", "application/x-www-form-urlencoded"}};
  EXPECT_EQ(admin_post("/admin/reload", form).result_int(), 415);
  EXPECT_EQ(admin_post("/admin/reload", {}).result_int(), 415) << "no Content-Type at all";
  // HTTP/1.1 without Host.
  auto raw = ts::http_client::connect(proxy->admin_port());
  raw.write_raw("POST /admin/reload HTTP/1.1\r\nContent-Type: application/json\r\n"
                "Content-Length: 0\r\n\r\n");
  EXPECT_EQ(raw.read_response().result_int(), 400);

  EXPECT_EQ(reloads(), 0.0) << "a refused request must not reload";
  EXPECT_EQ(metric("modelgate_config_generation"), 1.0);

  // The admin's own tools: local names, with or without a port, and JSON.
  auto ok = admin_post("/admin/reload", json);
  EXPECT_EQ(ok.result_int(), 200) << ok.body();
  expect_admin_headers(ok);
  EXPECT_EQ(admin_post("/admin/reload", with(json, "Host", "localhost:" + port)).result_int(), 200);
  EXPECT_EQ(admin_post("/admin/reload", with(json, "Host", "LOCALHOST")).result_int(), 200);
  EXPECT_EQ(admin_post("/admin/reload", with(json, "Host", "[::1]:" + port)).result_int(), 200);
  const ts::header_list charset{{"Content-Type", "Application/JSON; charset=utf-8"}};
  EXPECT_EQ(admin_post("/admin/reload", charset).result_int(), 200);
  EXPECT_EQ(reloads(), 5.0);
}

TEST_F(AdminTest, ReadsAcceptAnyHostButNoOrigin) {
  start();
  auto a = ts::http_client::connect(proxy->admin_port());
  // Prometheus and probes address the listener by whatever IP reaches it.
  auto scrape = a.get("/metrics", {{"Host", "10.1.2.3:9901"}});
  EXPECT_EQ(scrape.result_int(), 200);
  expect_admin_headers(scrape);
  EXPECT_EQ(a.get("/metrics", {{"Origin", "http://evil.example"}}).result_int(), 403);
  EXPECT_EQ(a.get("/readyz").result_int(), 200);
}

TEST_F(AdminTest, CachePurgeFromAWebPageIsRefusedAndTheEntryStays) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "answer\n"));
  auto c = config();
  c.route_yaml = ", cache: { enabled: true, ttl: 60s }";
  start(c);
  auto cl = client();
  ASSERT_EQ(cl.post("/v1/infer", "{}").result_int(), 200);
  ASSERT_EQ(metric("modelgate_cache_entries"), 1.0);
  EXPECT_EQ(admin_post("/admin/cache/purge", with(json, "Origin", "null")).result_int(), 403);
  EXPECT_EQ(admin_post("/admin/cache/purge", with(json, "Host", "evil.example")).result_int(), 403);
  EXPECT_EQ(admin_post("/admin/cache/purge", {{"Content-Type", "text/plain"}}).result_int(), 415);
  EXPECT_EQ(admin_post("/admin/cache/purge", {}).result_int(), 415);
  EXPECT_EQ(metric("modelgate_cache_entries"), 1.0) << "a refused request must not purge";
  auto ok = admin_post("/admin/cache/purge", json);
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_EQ(ok.body(), "{\"purged\":1}\n");
}

// Item 1 for the admin listener: a chunk extension has no length limit of its own in the HTTP
// parser, so only the bounded read buffer stops it.
TEST_F(AdminTest, HugeChunkExtensionIsRefusedWithoutGrowingMemory) {
  start();
  auto c = ts::http_client::connect(proxy->admin_port());
  c.set_timeout(10s);
  const auto before = peak_rss();
  ASSERT_GT(before, 0u);
  c.write_raw("POST /admin/reload HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
              "Transfer-Encoding: chunked\r\n\r\n1;ext=");
  const std::string mib(1 << 20, 'a');
  std::size_t sent = 0;
  boost::system::error_code ec;
  for (int i = 0; i < 64 && !ec; ++i) {
    ec = c.try_write_raw(mib);
    if (!ec) sent += mib.size();
  }
  if (!ec) ec = c.try_write_raw("\r\nx\r\n0\r\n\r\n");
  // Refused with 400 and closed, or closed (a reset may overtake the answer).
  bool answered_400 = false;
  if (!ec && c.wait_readable(5s)) {
    try {
      answered_400 = c.read_response().result_int() == 400;
    } catch (const boost::system::system_error&) {
    }
  }
  EXPECT_TRUE(ec || answered_400 || c.wait_closed(5s)) << "sent " << sent << " bytes";
  const auto after = peak_rss();
  EXPECT_LT(after - before, 64u << 20) << "VmHWM " << before << " -> " << after;
  EXPECT_EQ(reloads(), 0.0);
  EXPECT_EQ(proxy->admin_get("/healthz"), "ok\n");
}

TEST_F(AdminTest, OversizedHeaderIs431AndOversizedBodyIs413) {
  start();
  auto h = ts::http_client::connect(proxy->admin_port());
  auto big_header = h.post("/admin/reload", "", with(json, "x-filler", std::string(9000, 'f')));
  EXPECT_EQ(big_header.result_int(), 431);
  expect_admin_headers(big_header);
  EXPECT_TRUE(h.wait_closed(3s));
  auto b = ts::http_client::connect(proxy->admin_port());
  EXPECT_EQ(b.post("/admin/reload", std::string(65 * 1024, 'x'), json).result_int(), 413);
  EXPECT_EQ(reloads(), 0.0);
}
