// API keys and per-key quotas end to end with the real binary and the local store: 401/403/429
// with their headers and JSON bodies, a public route, concurrency released on completion and on
// client disconnect, tokens per minute reconciled from JSON and SSE usage, allow_cidrs, metrics.

#include "tests/quota/e2e_fixture.hpp"

#include <cctype>

using quota_e2e::bearer_a;
using quota_e2e::key_a;

namespace {
// Continues the `routes:` list of ts::proxy_config (its extra_yaml follows the routes).
const std::string public_route = "  - { path_prefix: /public/, pool: text, public: true }\n";
}  // namespace

TEST_F(QuotaTest, HashKeyPrintsTheSha256Hex) {
  EXPECT_EQ(quota_e2e::hash_key(dir, "abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(QuotaTest, MissingOrUnknownKeyIs401WithWwwAuthenticateAndAJsonBody) {
  auto c = config();
  c.extra_yaml = public_route + auth_yaml("");
  start(c);
  auto cl = client();
  auto res = cl.get("/v1/models");
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(header(res, "WWW-Authenticate"), "Bearer realm=\"modelgate\"");
  EXPECT_EQ(header(res, "Content-Type"), "application/json");
  EXPECT_NE(res.body().find("\"code\":401,\"type\":\"unauthorized\""), std::string::npos)
      << res.body();
  EXPECT_FALSE(header(res, "x-request-id").empty());
  EXPECT_TRUE(res.keep_alive());
  res = cl.get("/v1/models", {{"Authorization", "Bearer sk-wrong-key"}});
  EXPECT_EQ(res.result_int(), 401);
  res = cl.get("/v1/models", {{"x-api-key", "sk-other-wrong"}});
  EXPECT_EQ(res.result_int(), 401);
  EXPECT_EQ(upstream.requests(), 0u);

  EXPECT_EQ(cl.get("/v1/models", {{"Authorization", bearer_a}}).result_int(), 200);
  EXPECT_EQ(cl.get("/v1/models", {{"x-api-key", key_a}}).result_int(), 200);
  EXPECT_EQ(upstream.requests(), 2u);

  // A public route needs no key.
  EXPECT_EQ(cl.get("/public/status").result_int(), 200);

  auto m = metrics();
  if (auto findings = quota_e2e::promtool_findings(dir, m)) {
    EXPECT_EQ(*findings, "") << "promtool check metrics";
  }
  EXPECT_EQ(ts::metric_sum(m, "modelgate_auth_rejections_total{reason=\"missing_key\"}"), 1.0);
  EXPECT_EQ(ts::metric_sum(m, "modelgate_auth_rejections_total{reason=\"unknown_key\"}"), 2.0);
  EXPECT_EQ(ts::metric_sum(m, "modelgate_quota_requests_total{key=\"team-a\"}"), 2.0);
  // The raw keys never show up in metrics or logs; the id does.
  for (const auto& text : {m, proxy->stdout_log(), proxy->stderr_log()}) {
    EXPECT_EQ(text.find(key_a), std::string::npos);
    EXPECT_EQ(text.find("sk-wrong-key"), std::string::npos);
  }
}

TEST_F(QuotaTest, RouteOutsideTheKeysAllowListIs403) {
  auto c = config();
  c.extra_yaml = auth_yaml("", "[ /v1/chat/ ]");
  start(c);
  auto cl = client();
  auto res = cl.post("/v1/embeddings", "{}", {{"Authorization", bearer_a}});
  EXPECT_EQ(res.result_int(), 403);
  EXPECT_NE(res.body().find("\"type\":\"forbidden\""), std::string::npos) << res.body();
  EXPECT_EQ(header(res, "WWW-Authenticate"), "");
  EXPECT_EQ(cl.post("/v1/chat/completions", "{}", {{"Authorization", bearer_a}}).result_int(), 200);
  EXPECT_EQ(metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"forbidden\"}"), 1.0);
}

TEST_F(QuotaTest, OverTheRateIs429WithRetryAfterAndRateLimitHeaders) {
  auto c = config();
  c.extra_yaml = auth_yaml("{ requests_per_second: 0.2, burst: 2 }");
  start(c);
  auto cl = client();
  auto first = cl.get("/v1/a", {{"Authorization", bearer_a}});
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_EQ(header(first, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(header(first, "x-ratelimit-remaining-requests"), "1");
  EXPECT_FALSE(header(first, "x-ratelimit-reset-requests").empty());
  auto second = cl.get("/v1/a", {{"x-api-key", key_a}});
  ASSERT_EQ(second.result_int(), 200);
  EXPECT_EQ(header(second, "x-ratelimit-remaining-requests"), "0");
  auto third = cl.get("/v1/a", {{"Authorization", bearer_a}});
  EXPECT_EQ(third.result_int(), 429);
  const int retry = std::stoi(header(third, "Retry-After"));
  EXPECT_GE(retry, 4);  // one request per 5 s
  EXPECT_LE(retry, 5);
  EXPECT_EQ(header(third, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(header(third, "x-ratelimit-remaining-requests"), "0");
  EXPECT_NE(third.body().find("\"code\":429,\"type\":\"rate_limited\""), std::string::npos);
  EXPECT_EQ(upstream.requests(), 2u);
  EXPECT_EQ(metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"rate\"}"), 1.0);
  EXPECT_EQ(metric("modelgate_errors_total{kind=\"rate_limited\"}"), 1.0);
}

TEST_F(QuotaTest, ConcurrencySlotComesBackOnCompletionAndOnClientDisconnect) {
  upstream.on("/v1/slow", ts::upstream_behaviour::fixed(200, "slow\n").with_delay(400ms));
  auto c = config();
  c.extra_yaml = auth_yaml("{ max_concurrent: 1 }");
  start(c);
  auto busy = client();
  ts::request slow{http::verb::get, "/v1/slow", 11};
  slow.set(http::field::authorization, bearer_a);
  busy.send(slow);
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 1; }));
  auto other = client();
  auto refused = other.get("/v1/fast", {{"Authorization", bearer_a}});
  EXPECT_EQ(refused.result_int(), 429);
  EXPECT_EQ(header(refused, "Retry-After"), "1");
  EXPECT_NE(refused.body().find("concurrency_limited"), std::string::npos);
  // Completion gives the slot back.
  EXPECT_EQ(busy.read_response().result_int(), 200);
  EXPECT_TRUE(ts::eventually([&] {
    return other.get("/v1/fast", {{"Authorization", bearer_a}}).result_int() == 200;
  }));

  // A client that goes away mid-request gives it back too.
  auto gone = client();
  gone.send(slow);
  ASSERT_TRUE(ts::eventually([&] { return upstream.requests() == 3; }));
  EXPECT_EQ(other.get("/v1/fast", {{"Authorization", bearer_a}}).result_int(), 429);
  gone.close();
  EXPECT_TRUE(ts::eventually(
      [&] {
        return client().get("/v1/fast", {{"Authorization", bearer_a}}).result_int() == 200;
      },
      3s));
  // At least the two refusals above (the polling loop may add more while the slot is taken).
  EXPECT_GE(metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"concurrency\"}"), 2.0);
}

TEST_F(QuotaTest, TokensPerMinuteAreReservedThenReconciledFromJsonUsage) {
  upstream.on(
      "/v1/chat/completions",
      ts::upstream_behaviour::fixed(
          200,
          R"({"id":"x","usage":{"prompt_tokens":20,"completion_tokens":70,"total_tokens":90}})",
          "application/json"));
  auto c = config();
  c.extra_yaml = auth_yaml("{ tokens_per_minute: 100 }", "", "  default_token_estimate: 10\n");
  start(c);
  auto cl = client();
  // Reserves 10 (no max_tokens); the response says 90 were used.
  auto res = cl.post("/v1/chat/completions", R"({"model":"m"})", {{"Authorization", bearer_a}});
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "x-ratelimit-limit-tokens"), "100");
  EXPECT_EQ(header(res, "x-ratelimit-remaining-tokens"), "90");
  ASSERT_TRUE(ts::eventually(
      [&] { return metric("modelgate_quota_tokens_total{key=\"team-a\"}") == 90.0; }));
  // 10 tokens left: asking for 50 is refused, asking for 5 is not.
  auto over = cl.post("/v1/chat/completions", R"({"model":"m","max_tokens":50})",
                      {{"Authorization", bearer_a}});
  EXPECT_EQ(over.result_int(), 429);
  EXPECT_NE(over.body().find("tokens_limited"), std::string::npos);
  EXPECT_GE(std::stoi(header(over, "Retry-After")), 20);  // 40 tokens at 100/min
  EXPECT_LE(std::stoi(header(over, "x-ratelimit-remaining-tokens")), 10);
  EXPECT_EQ(cl.post("/v1/chat/completions", R"({"model":"m","max_tokens":5})",
                    {{"Authorization", bearer_a}})
                .result_int(),
            200);
  EXPECT_EQ(metric("modelgate_quota_rejections_total{key=\"team-a\",reason=\"tokens\"}"), 1.0);
}

TEST_F(QuotaTest, AProxyErrorRefundsTheTokenReservation) {
  upstream.on("/v1/broken", ts::upstream_behaviour::hang_up());
  auto c = config();
  c.extra_yaml = auth_yaml("{ tokens_per_minute: 100 }", "", "  default_token_estimate: 60\n");
  start(c);
  auto cl = client();
  // 60 reserved, then 502: given back, so the next 60 fit (without the refund only 40 would).
  EXPECT_EQ(cl.get("/v1/broken", {{"Authorization", bearer_a}}).result_int(), 502);
  auto res = client().get("/v1/ok", {{"Authorization", bearer_a}});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "x-ratelimit-remaining-tokens"), "40");
}

TEST_F(QuotaTest, TokensAreReconciledFromTheLastSseEventWithUsage) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"total_tokens\":80}}\n\n"
      "data: [DONE]\n\n";
  upstream.on("/v1/chat/completions",
              ts::upstream_behaviour::fixed(200, stream, "text/event-stream"));
  auto c = config();
  c.extra_yaml = auth_yaml("{ tokens_per_minute: 100 }", "", "  default_token_estimate: 1\n");
  start(c);
  auto cl = client();
  auto res = cl.post("/v1/chat/completions", R"({"stream":true})", {{"Authorization", bearer_a}});
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), stream);  // relayed unchanged
  ASSERT_TRUE(ts::eventually(
      [&] { return metric("modelgate_quota_tokens_total{key=\"team-a\"}") == 80.0; }));
  auto over =
      cl.post("/v1/chat/completions", R"({"max_tokens":30})", {{"Authorization", bearer_a}});
  EXPECT_EQ(over.result_int(), 429);
}

TEST_F(QuotaTest, AllowCidrsCloseConnectionsFromOtherAddresses) {
  auto c = config();
  c.tls = false;
  auto yaml = c.to_yaml();
  auto listener = yaml.find("  - address: 127.0.0.1:0\n");
  ASSERT_NE(listener, std::string::npos);
  yaml.insert(listener + 25, "    allow_cidrs: [ 10.0.0.0/8, \"fd00::/8\" ]\n");
  proxy = std::make_unique<ts::proxy_process>(MODELGATE_BIN, dir, yaml);
  auto cl = ts::http_client::connect(proxy->listener_port(0));
  EXPECT_ANY_THROW(cl.get("/v1/x"));
  EXPECT_EQ(upstream.requests(), 0u);
  EXPECT_EQ(metric("modelgate_auth_denied_connections_total{listener=\"0\"}"), 1.0);
}

TEST_F(QuotaTest, AllowCidrsLetListedAddressesThrough) {
  auto c = config();
  auto yaml = c.to_yaml();
  auto listener = yaml.find("  - address: 127.0.0.1:0\n");
  ASSERT_NE(listener, std::string::npos);
  yaml.insert(listener + 25, "    allow_cidrs: [ 127.0.0.0/8 ]\n");
  proxy = std::make_unique<ts::proxy_process>(MODELGATE_BIN, dir, yaml);
  EXPECT_EQ(client().get("/v1/x").result_int(), 200);
}

// Auth and cache together: the cache keys on the authenticated key id (so both header forms of
// one key share entries), a hit still passes the quota and carries its headers, and is refused
// like any request once the key is over its rate.
TEST_F(QuotaTest, CacheHitsAreKeyedByKeyIdAndStillCountedByTheQuota) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "{\"y\":1}", "application/json"));
  auto c = config();
  c.route_yaml = ", cache: { enabled: true, ttl: 60s }";
  c.extra_yaml = "cache: { max_bytes: 1MiB }\n" + auth_yaml("{ requests_per_second: 0.1, burst: 3 }");
  start(c);
  auto cl = client();
  auto first = cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", bearer_a}});
  ASSERT_EQ(first.result_int(), 200);
  EXPECT_EQ(header(first, "x-cache"), "MISS");
  auto second = cl.post("/v1/infer", "{\"x\":1}", {{"x-api-key", key_a}});
  ASSERT_EQ(second.result_int(), 200);
  EXPECT_EQ(header(second, "x-cache"), "HIT") << "same key id, other header: same entry";
  EXPECT_EQ(header(second, "x-ratelimit-remaining-requests"), "1");
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_EQ(cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", bearer_a}}).result_int(), 200);
  EXPECT_EQ(cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", bearer_a}}).result_int(), 429);
  EXPECT_EQ(cl.post("/v1/infer", "{\"x\":1}").result_int(), 401) << "no key: no cached answer";
  EXPECT_EQ(upstream.requests(), 1u);
}

// Issue 14: a keyless 8 MiB JSON body was read (after a 100 Continue) and parsed before its 401.
// Now the key is checked on the header alone: no 100 Continue, no body read, the connection
// closed (its unread body cannot be told from a next request).
TEST_F(QuotaTest, AKeylessRequestIsRefusedBeforeItsBodyIsRead) {
  auto c = config();
  // A model route makes routing need the body; the key check must still come first.
  c.more_routes = "  - { path_prefix: /v2/, model: [m], pool: text }\n";
  c.extra_yaml = public_route + auth_yaml("");
  start(c);
  for (const char* target : {"/v1/chat/completions", "/v2/infer"}) {
    SCOPED_TRACE(target);
    auto cl = client();
    cl.write_raw(std::string("POST ") + target +
                 " HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                 "Content-Length: 8388608\r\nExpect: 100-continue\r\n\r\n");
    auto res = cl.read_response();  // within the client's 3 s: nothing of the body was sent
    EXPECT_EQ(res.result_int(), 401);
    EXPECT_FALSE(res.keep_alive());
    EXPECT_TRUE(cl.wait_closed(2s));
  }
  // A public route still reads its body without a key.
  auto cl = client();
  EXPECT_EQ(cl.post("/public/x", R"({"model":"m"})").result_int(), 200);
  EXPECT_EQ(upstream.last_request().body, R"({"model":"m"})");
  EXPECT_EQ(upstream.requests(), 1u);
  EXPECT_EQ(metric("modelgate_auth_rejections_total{reason=\"missing_key\"}"), 2.0);
}

// Issue 14: `max_tokens: 1, max_completion_tokens: 4096, stream: true` was reserved (and, with no
// usage in the stream, charged) 1 token; the prompt never counted; a gzip response hid usage.
TEST_F(QuotaTest, TheReservationCoversTheLargerLimitAndThePrompt) {
  auto c = config();
  c.extra_yaml = auth_yaml("{ tokens_per_minute: 10000 }");
  start(c);
  auto cl = client();
  const std::string prompt(400, 'p');  // 100 tokens at four characters a token
  auto res = cl.post("/v1/chat/completions",
                     R"({"max_tokens":1,"max_completion_tokens":4096,"stream":true,"prompt":")" +
                         prompt + R"("})",
                     {{"Authorization", bearer_a}, {"Accept-Encoding", "gzip, br"}});
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(header(res, "x-ratelimit-remaining-tokens"), std::to_string(10000 - 4096 - 100));
  EXPECT_EQ(upstream.last_request().value("accept-encoding"), "identity")
      << "usage must come back readable";
}

// With the route known and nothing of the body needed, the whole admission runs on the header:
// a request over its key's rate gets its 429 before its body, without 100 Continue.
TEST_F(QuotaTest, ARequestOverItsRateIsRefusedBeforeItsBodyIsRead) {
  auto c = config();
  c.extra_yaml = auth_yaml("{ requests_per_second: 0.01, burst: 1 }");
  start(c);
  EXPECT_EQ(client().post("/v1/x", "{}", {{"Authorization", bearer_a}}).result_int(), 200);
  auto cl = client();
  cl.write_raw("POST /v1/x HTTP/1.1\r\nHost: a\r\nAuthorization: " + bearer_a +
               "\r\nContent-Length: 8388608\r\nExpect: 100-continue\r\n\r\n");
  auto res = cl.read_response();
  EXPECT_EQ(res.result_int(), 429);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(cl.wait_closed(2s));
  EXPECT_EQ(upstream.requests(), 1u);
}

// Issue 14, finding 7: a shared entry filled by key A must not replay A's x-ratelimit-* to key
// B: B's hit carries B's own limits and nothing of A's, and a key without a quota gets none.
TEST_F(QuotaTest, SharedCacheHitsCarryTheCallersOwnRateLimitsOnly) {
  upstream.on("/v1/infer", ts::upstream_behaviour::fixed(200, "{\"y\":1}", "application/json"));
  const std::string key_b = "sk-test-bravo-0123456789", key_c = "sk-test-charlie-012345678";
  auto c = config();
  c.route_yaml = ", cache: { enabled: true, ttl: 60s, shared: true }";
  c.extra_yaml =
      "cache: { max_bytes: 1MiB }\n"
      "auth:\n  keys:\n"
      "    - id: team-a\n      sha256: \"" + sha_a + "\"\n"
      "      quota: { requests_per_second: 1, burst: 5, tokens_per_minute: 100000 }\n"
      "    - id: team-b\n      sha256: \"" + quota_e2e::hash_key(dir, key_b) + "\"\n"
      "      quota: { requests_per_second: 1, burst: 2 }\n"
      "    - id: team-c\n      sha256: \"" + quota_e2e::hash_key(dir, key_c) + "\"\n";
  start(c);
  auto cl = client();
  auto a = cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", bearer_a}});
  ASSERT_EQ(a.result_int(), 200);
  EXPECT_EQ(header(a, "x-cache"), "MISS");
  EXPECT_EQ(header(a, "x-ratelimit-limit-requests"), "5");
  EXPECT_EQ(header(a, "x-ratelimit-limit-tokens"), "100000");

  auto b = cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", "Bearer " + key_b}});
  ASSERT_EQ(b.result_int(), 200);
  EXPECT_EQ(header(b, "x-cache"), "HIT");
  EXPECT_EQ(header(b, "x-ratelimit-limit-requests"), "2");
  EXPECT_EQ(header(b, "x-ratelimit-remaining-requests"), "1");
  for (const auto* name : {"x-ratelimit-limit-tokens", "x-ratelimit-remaining-tokens",
                           "x-ratelimit-reset-tokens"})
    EXPECT_EQ(b.count(name), 0u) << name << ": " << header(b, name) << " is team-a's";

  auto none = cl.post("/v1/infer", "{\"x\":1}", {{"Authorization", "Bearer " + key_c}});
  ASSERT_EQ(none.result_int(), 200);
  EXPECT_EQ(header(none, "x-cache"), "HIT");
  for (const auto& f : none) {
    std::string name(f.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_FALSE(name.starts_with("x-ratelimit-")) << name << ": " << f.value();
    EXPECT_NE(name, "retry-after");
  }
  EXPECT_EQ(upstream.requests(), 1u);
}
