// Response cache end to end: hits with equal bodies, single-flight under 50 concurrent misses,
// SSE replay, per-API-key keys, Cache-Control and the deterministic-only rule, purge, metrics.

#include "tests/integration/proxy_fixture.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string_view>
#include <thread>

namespace {

std::string x_cache(const ts::response& r) { return std::string(r["x-cache"]); }

}  // namespace

class CacheTest : public ProxyTest {
 protected:
  ts::proxy_config cache_config(const std::string& route_cache = "{ enabled: true, ttl: 60s }") const {
    auto c = config();
    c.route_yaml = ", cache: " + route_cache;
    c.extra_yaml = "cache: { max_bytes: 64MiB, default_ttl: 300s }\n";
    return c;
  }

  ts::response purge(const std::string& target = "/admin/cache/purge") const {
    auto admin = ts::http_client::connect(proxy->admin_port());
    return admin.post(target, "", {{"Content-Type", "application/json"}});
  }
};

TEST_F(CacheTest, SecondIdenticalRequestIsAHitWithAnEqualBody) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "{\"outputs\":[1,2,3]}\n",
                                                        "application/json"));
  start(cache_config());
  auto c = client();
  auto first = c.post("/v1/infer", R"({"a":1,"b":2})", {{"content-type", "application/json"}});
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_EQ(x_cache(first), "MISS");
  // The same JSON with other key order and spacing is the same request.
  auto second = c.post("/v1/infer", R"({ "b":2, "a":1 })", {{"content-type", "application/json"}});
  ASSERT_EQ(second.result_int(), 200);
  EXPECT_EQ(x_cache(second), "HIT");
  EXPECT_EQ(second.body(), first.body());
  EXPECT_EQ(second[http::field::content_type], "application/json");
  EXPECT_EQ(second[http::field::age], "0");
  EXPECT_FALSE(second["x-request-id"].empty());
  EXPECT_NE(second["x-request-id"], first["x-request-id"]);
  EXPECT_EQ(upstream.requests(), 1u);
  // A different body, path or query is another entry.
  EXPECT_EQ(x_cache(c.post("/v1/infer", R"({"a":1,"b":3})")), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/infer?v=2", R"({"a":1,"b":2})")), "MISS");
  EXPECT_EQ(upstream.requests(), 3u);
}

TEST_F(CacheTest, FiftyConcurrentIdenticalRequestsReachTheUpstreamOnce) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "{\"answer\":42}\n", "application/json")
                              .with_delay(800ms));
  start(cache_config());
  constexpr int n = 50;
  std::vector<ts::http_client> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(client());
    clients.back().set_timeout(15s);
  }
  std::vector<ts::response> got(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] { got[i] = clients[i].post("/v1/slow", R"({"x":[1,2]})"); });
  for (auto& t : threads) t.join();
  int misses = 0, hits = 0;
  for (const auto& r : got) {
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), "{\"answer\":42}\n");
    misses += x_cache(r) == "MISS";
    hits += x_cache(r) == "HIT";
  }
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_EQ(misses, 1);
  EXPECT_EQ(hits, n - 1);
  EXPECT_GE(metric("modelgate_cache_coalesced_total"), 1.0) << metrics();
}

TEST_F(CacheTest, StreamedResponseReplaysAsAnIdenticalStream) {
  // Like SSE servers in general, the fake upstream sends `Cache-Control: no-cache` on streams.
  upstream.on("/v1/stream", ts::upstream_behaviour::sse(6, 30ms));
  start(cache_config("{ enabled: true, ignore_stream_no_cache: true }"));
  auto c = client();
  c.send({http::verb::get, "/v1/stream", 11});
  auto first = c.read_streaming();
  ASSERT_TRUE(first.complete) << first.error.message();
  EXPECT_EQ(first.header["x-cache"], "MISS");
  c.send({http::verb::get, "/v1/stream", 11});
  auto second = c.read_streaming();
  ASSERT_TRUE(second.complete) << second.error.message();
  EXPECT_EQ(second.header["x-cache"], "HIT");
  EXPECT_EQ(second.header[http::field::content_type], "text/event-stream");
  EXPECT_EQ(second.header[http::field::transfer_encoding], "chunked") << "a stream replays as a stream";
  EXPECT_EQ(second.body(), first.body());
  for (int i = 0; i < 6; ++i)
    EXPECT_NE(second.body().find("data: event " + std::to_string(i) + "\n\n"), std::string::npos);
  EXPECT_EQ(upstream.requests(), 1u);
  // The connection is still in sync after the replayed stream.
  EXPECT_EQ(c.get("/v1/after").result_int(), 200);
}

TEST_F(CacheTest, ADifferentApiKeyMissesUnlessTheRouteIsShared) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "tenant answer\n"));
  start(cache_config());
  auto c = client();
  auto as = [&](const ts::header_list& h) { return x_cache(c.post("/v1/infer", "{\"q\":1}", h)); };
  EXPECT_EQ(as({{"authorization", "Bearer key-one"}}), "MISS");
  EXPECT_EQ(as({{"authorization", "Bearer key-one"}}), "HIT");
  EXPECT_EQ(as({{"authorization", "Bearer key-two"}}), "MISS");
  EXPECT_EQ(as({{"x-api-key", "key-one"}}), "MISS");
  EXPECT_EQ(as({}), "MISS");
  EXPECT_EQ(as({}), "HIT");
  EXPECT_EQ(upstream.requests(), 4u);
  EXPECT_EQ(proxy->stdout_log().find("key-one"), std::string::npos) << "raw API key in the logs";
}

TEST_F(CacheTest, SharedRouteServesEveryCaller) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "shared answer\n"));
  start(cache_config("{ shared: true }"));
  auto c = client();
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", {{"authorization", "Bearer a"}})), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", {{"authorization", "Bearer b"}})), "HIT");
  EXPECT_EQ(upstream.requests(), 1u);
}

TEST_F(CacheTest, CacheControlNoStoreBypassesAndUpstreamNoStoreIsNotKept) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "fresh\n"));
  upstream.on("/v1/private", ts::upstream_behaviour::fixed(200, "secret\n")
                                 .with_header("Cache-Control", "no-store"));
  start(cache_config());
  auto c = client();
  const ts::header_list no_store{{"cache-control", "no-store"}};
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", no_store)), "BYPASS");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", no_store)), "BYPASS");
  EXPECT_EQ(upstream.requests(), 2u);
  // A stored entry is not served to a no-store request either.
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}")), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}")), "HIT");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", no_store)), "BYPASS");
  // no-cache refreshes: forwarded, and the new answer is stored.
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{}", {{"cache-control", "no-cache"}})), "MISS");
  EXPECT_EQ(upstream.requests(), 5u);
  // The upstream saying no-store: never stored.
  EXPECT_EQ(x_cache(c.post("/v1/private", "{}")), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/private", "{}")), "MISS");
  EXPECT_EQ(upstream.requests(), 7u);
  // Only 200s are stored.
  upstream.on("/v1/missing", ts::upstream_behaviour::fixed(404, "no\n"));
  EXPECT_EQ(c.post("/v1/missing", "{}").result_int(), 404);
  EXPECT_EQ(x_cache(c.post("/v1/missing", "{}")), "MISS");
  EXPECT_EQ(upstream.requests(), 9u);
}

TEST_F(CacheTest, NondeterministicGenerationBypassesDeterministicIsCached) {
  upstream.on("/v1/chat/completions", ts::upstream_behaviour::fixed(200, "{\"choices\":[]}\n",
                                                                   "application/json"));
  start(cache_config());
  auto c = client();
  const std::string hot = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.7})";
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", hot)), "BYPASS");
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", hot)), "BYPASS");
  EXPECT_EQ(upstream.requests(), 2u);
  const std::string cold = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0})";
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", cold)), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", cold)), "HIT");
  const std::string seeded = R"({"model":"m","prompt":"hi","temperature":1.0,"seed":7})";
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", seeded)), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/chat/completions", seeded)), "HIT");
  EXPECT_EQ(upstream.requests(), 4u);
  EXPECT_GE(metric("modelgate_cache_bypasses_total{reason=\"nondeterministic\",route=\"/v1/\"}"), 2.0)
      << metrics();
}

TEST_F(CacheTest, PurgeEmptiesTheCache) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "answer\n"));
  start(cache_config());
  auto c = client();
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{\"n\":1}")), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{\"n\":2}")), "MISS");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{\"n\":1}")), "HIT");
  EXPECT_EQ(metric("modelgate_cache_entries"), 2.0);
  auto r = purge("/admin/cache/purge?route=%2Fv1%2F");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body(), "{\"purged\":2}\n");
  EXPECT_EQ(metric("modelgate_cache_entries"), 0.0);
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{\"n\":1}")), "MISS");
  EXPECT_EQ(purge().body(), "{\"purged\":1}\n");
  EXPECT_EQ(x_cache(c.post("/v1/infer", "{\"n\":1}")), "MISS");
  EXPECT_EQ(purge("/admin/cache/purge?route=nope").result_int(), 404);
  auto admin = ts::http_client::connect(proxy->admin_port());
  EXPECT_EQ(admin.get("/admin/cache/purge").result_int(), 405);
}

TEST_F(CacheTest, LeaderFailureDoesNotStrandFollowers) {
  // Every attempt fails: followers must get an answer (an error), not hang.
  upstream.on("/v1/broken", ts::upstream_behaviour::hang_up().with_delay(300ms));
  start(cache_config());
  constexpr int n = 5;
  std::vector<ts::http_client> clients;
  for (int i = 0; i < n; ++i) {
    clients.push_back(client());
    clients.back().set_timeout(10s);
  }
  std::vector<unsigned> status(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] { status[i] = clients[i].post("/v1/broken", "{}").result_int(); });
  for (auto& t : threads) t.join();
  for (auto s : status) EXPECT_EQ(s, 502u);
}

TEST_F(CacheTest, MetricsCountAndPassPromtool) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "m\n"));
  start(cache_config());
  auto c = client();
  c.post("/v1/infer", "{}");
  c.post("/v1/infer", "{}");
  c.post("/v1/infer", "{}", {{"cache-control", "no-store"}});
  EXPECT_TRUE(ts::eventually([&] { return metric("modelgate_cache_hits_total") >= 1; }, 2s));
  EXPECT_EQ(metric("modelgate_cache_misses_total"), 1.0);
  EXPECT_EQ(metric("modelgate_cache_bypasses_total"), 1.0);
  EXPECT_EQ(metric("modelgate_cache_stores_total"), 1.0);
  EXPECT_EQ(metric("modelgate_cache_entries"), 1.0);
  EXPECT_GT(metric("modelgate_cache_bytes"), 0.0);
  auto text = metrics();
  for (auto name : {"modelgate_cache_evictions_total", "modelgate_cache_coalesced_total"})
    EXPECT_NE(text.find(std::string("# TYPE ") + name), std::string::npos) << name;
  if (!ts::find_program("promtool")) GTEST_SKIP() << "promtool not installed";
  auto file = dir.write("metrics.txt", text);
  auto r = ts::run_command({"promtool", "check", "metrics"}, dir.path(), file);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "promtool lint findings";
}

TEST_F(CacheTest, EventStreamsMarkedNoCacheAreNotStoredByDefault) {
  upstream.on("/v1/stream", ts::upstream_behaviour::sse(3, 10ms));
  start(cache_config());
  auto c = client();
  for (int i = 0; i < 2; ++i) {
    c.send({http::verb::get, "/v1/stream", 11});
    auto s = c.read_streaming();
    ASSERT_TRUE(s.complete);
    EXPECT_EQ(s.header["x-cache"], "MISS");
  }
  EXPECT_EQ(upstream.requests(), 2u);
}

// Issue 14, finding 3: two `/v2/` routes, both named "/v2/" by default, one for `x-tier:
// premium` to pool `premium`, one without to pool `text`. A request without the header must not
// get the premium answer from the cache.
TEST_F(CacheTest, RoutesWithOnePrefixKeepTheirEntriesApart) {
  ts::fake_upstream premium;
  premium.otherwise(ts::upstream_behaviour::fixed(200, "premium answer\n"));
  upstream.on("/v2/infer", ts::upstream_behaviour::fixed(200, "standard answer\n"));
  auto c = cache_config();
  c.more_pools = "  - name: premium\n    backends: [ { address: " + premium.address() + " } ]\n";
  c.more_routes =
      "  - { path_prefix: /v2/, header: { name: x-tier, value: premium }, pool: premium,"
      " cache: { enabled: true, ttl: 60s } }\n"
      "  - { path_prefix: /v2/, pool: text, cache: { enabled: true, ttl: 60s } }\n";
  start(c);
  auto cl = client();
  const ts::header_list tier{{"x-tier", "premium"}};
  auto first = cl.post("/v2/infer", "{\"q\":1}", tier);
  EXPECT_EQ(first.body(), "premium answer\n");
  EXPECT_EQ(x_cache(first), "MISS");
  auto other = cl.post("/v2/infer", "{\"q\":1}");
  EXPECT_EQ(other.body(), "standard answer\n") << "x-cache: " << x_cache(other);
  EXPECT_EQ(x_cache(other), "MISS");
  EXPECT_EQ(cl.post("/v2/infer", "{\"q\":1}", tier).body(), "premium answer\n");
  auto again = cl.post("/v2/infer", "{\"q\":1}");
  EXPECT_EQ(again.body(), "standard answer\n");
  EXPECT_EQ(x_cache(again), "HIT");
  // Each route has its own name (the second default one got "#2"), so its own metrics.
  EXPECT_EQ(metric("modelgate_cache_hits_total{route=\"/v2/\"}"), 1.0) << metrics();
  EXPECT_EQ(metric("modelgate_cache_hits_total{route=\"/v2/#2\"}"), 1.0) << metrics();
}

TEST_F(CacheTest, TheHostIsPartOfTheKey) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "answer\n"));
  start(cache_config());
  auto cl = client();
  auto as = [&](const std::string& host) {
    return x_cache(cl.post("/v1/infer", "{}", {{"Host", host}}));
  };
  EXPECT_EQ(as("a.example"), "MISS");
  EXPECT_EQ(as("b.example"), "MISS") << "another virtual host";
  EXPECT_EQ(as("A.Example"), "HIT") << "host names are case-insensitive";
  EXPECT_EQ(as("a.example:8443"), "HIT") << "the port is not part of it, as for routes";
  EXPECT_EQ(upstream.requests(), 2u);
}

// Issue 14, finding 4: clients that give up on a slow answer lead the flight in turn (each is
// promoted after the one before left); those that wait must still get the answer, never a 502.
TEST_F(CacheTest, LeadersWhoseClientsGiveUpDoNotFailTheWaiters) {
  upstream.on("/v1/slow",
              ts::upstream_behaviour::fixed(200, "{\"answer\":42}\n", "application/json")
                  .with_delay(1500ms));
  start(cache_config());
  constexpr int impatient = 3, patient = 3;
  std::vector<ts::http_client> clients;
  for (int i = 0; i < impatient + patient; ++i) {
    clients.push_back(client());
    clients.back().set_timeout(i < impatient ? 500ms : 15s);
  }
  std::vector<unsigned> status(clients.size(), 0);
  std::vector<std::string> body(clients.size());
  std::vector<std::thread> threads;
  for (int i = 0; i < impatient + patient; ++i)
    threads.emplace_back([&, i] {
      // In this order: the impatient ones first, so they lead one after the other.
      std::this_thread::sleep_for(i * 50ms);
      try {
        auto r = clients[i].post("/v1/slow", R"({"x":1})");
        status[i] = r.result_int();
        body[i] = r.body();
      } catch (const boost::system::system_error&) {
        clients[i].close();  // gave up
      }
    });
  for (auto& t : threads) t.join();
  for (int i = impatient; i < impatient + patient; ++i) {
    EXPECT_EQ(status[i], 200u) << "waiter " << i;
    EXPECT_EQ(body[i], "{\"answer\":42}\n") << "waiter " << i;
  }
  EXPECT_EQ(metric("modelgate_errors_total"), 0.0) << metrics();
}
