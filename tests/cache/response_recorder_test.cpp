#include "proxy/cache/lru_store.hpp"
#include "proxy/cache/response_recorder.hpp"
#include "tests/cache/test_support.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace modelgate::cache {
namespace {

using namespace std::chrono_literals;
using test::t0;

TEST(ResponseRecorder, RecordsStatusHeadersAndPieces) {
  response_recorder rec(1 << 20);
  rec.begin(200, body_framing::chunked);
  rec.add_header("Content-Type", "text/event-stream");
  rec.add_header("X-Model", "m1");
  const std::vector<std::string> pieces = {"data: {\"t\":\"He\"}\n\n", "data: {\"t\":\"llo\"}\n\n",
                                           "data: [DONE]\n\n"};
  for (const auto& p : pieces) rec.append(p);
  rec.append("");  // ignored: an empty chunk would end a chunked body
  auto e = rec.finish("chat", t0, 30s);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(rec.recording());
  EXPECT_EQ(e->status, 200u);
  EXPECT_EQ(e->framing, body_framing::chunked);
  ASSERT_EQ(e->headers.size(), 2u);
  EXPECT_EQ(e->headers[0].name, "content-type");
  EXPECT_EQ(e->headers[0].value, "text/event-stream");
  ASSERT_EQ(e->piece_count(), pieces.size());
  for (std::size_t i = 0; i < pieces.size(); ++i) EXPECT_EQ(e->piece(i), pieces[i]);
  EXPECT_EQ(e->body, pieces[0] + pieces[1] + pieces[2]);
  EXPECT_EQ(e->route, "chat");
  EXPECT_EQ(e->stored_at, t0);
  EXPECT_EQ(e->expires_at, t0 + 30s);
}

TEST(ResponseRecorder, DropsHopByHopAndPerResponseHeaders) {
  for (const char* h : {"Connection", "keep-alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
                        "Proxy-Authenticate", "proxy-connection", "Content-Length", "Age",
                        "x-request-id", "X-Cache", "Set-Cookie"})
    EXPECT_FALSE(is_stored_header(h)) << h;
  for (const char* h : {"content-type", "Date", "ETag", "x-model", "cache-control", "vary",
                        "x-ratelimit", "x-ratelimits"})
    EXPECT_TRUE(is_stored_header(h)) << h;

  response_recorder rec(1 << 20);
  rec.begin(200, body_framing::content_length);
  rec.add_header("Set-Cookie", "session=secret");
  rec.add_header("Age", "7");
  rec.add_header("Content-Length", "2");
  rec.append("ok");
  auto e = rec.finish("r", t0, 10s);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->headers.empty());
  EXPECT_EQ(e->initial_age, 7s);
  EXPECT_EQ(e->age(t0 + 3s), 10s);
}

// Issue 14: an entry replayed to another caller must not carry the first caller's quota state.
TEST(ResponseRecorder, DropsRateLimitHeadersAndRetryAfter) {
  for (const char* h : {"x-ratelimit-limit-requests", "X-RateLimit-Remaining-Tokens",
                        "x-ratelimit-reset-requests", "x-ratelimit-", "Retry-After"})
    EXPECT_FALSE(is_stored_header(h)) << h;
  response_recorder rec(1 << 20);
  rec.begin(200, body_framing::content_length);
  rec.add_header("x-ratelimit-limit-requests", "2");
  rec.add_header("x-ratelimit-remaining-requests", "1");
  rec.add_header("retry-after", "5");
  rec.add_header("content-type", "application/json");
  auto e = rec.finish("r", t0, 10s);
  ASSERT_NE(e, nullptr);
  ASSERT_EQ(e->headers.size(), 1u);
  EXPECT_EQ(e->headers[0].name, "content-type");
}

TEST(ResponseRecorder, BytesMatchTheStoreCharge) {
  response_recorder rec(1 << 20);
  rec.begin(200, body_framing::chunked);
  rec.add_header("content-type", "application/json");
  rec.append("abc");
  rec.append("defgh");
  const auto before_route = rec.bytes();
  auto e = rec.finish("route-x", t0, 10s);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(lru_store::charge_of(*e), before_route + e->route.size());
}

TEST(ResponseRecorder, CapStopsRecordingNotTheCaller) {
  const std::size_t cap = 2000;
  response_recorder rec(cap);
  rec.begin(200, body_framing::chunked);
  rec.add_header("content-type", "text/plain");
  std::size_t appended = 0;
  while (rec.recording()) {
    rec.append(std::string(100, 'a'));
    appended += 100;
    ASSERT_LT(appended, 10 * cap);
  }
  EXPECT_TRUE(rec.over_cap());
  rec.append("more");  // further pieces are accepted and ignored
  EXPECT_FALSE(rec.recording());
  EXPECT_EQ(rec.finish("r", t0, 10s), nullptr);
}

TEST(ResponseRecorder, DeclaredLengthOverCapStopsAtOnce) {
  response_recorder rec(4096);
  rec.begin(200, body_framing::content_length, 1 << 20);
  EXPECT_FALSE(rec.recording());
  EXPECT_TRUE(rec.over_cap());
  EXPECT_EQ(rec.finish("r", t0, 10s), nullptr);
}

TEST(ResponseRecorder, RouteNamePastTheCapStopsAtFinish) {
  response_recorder probe(1 << 20);
  probe.begin(200, body_framing::content_length);
  probe.append("x");
  const auto cap = probe.bytes() + 3;
  response_recorder rec(cap);
  rec.begin(200, body_framing::content_length);
  rec.append("x");
  ASSERT_TRUE(rec.recording());
  EXPECT_EQ(rec.finish("long-route-name", t0, 10s), nullptr);
}

TEST(ResponseRecorder, AbortDiscards) {
  response_recorder rec(1 << 20);
  rec.begin(200, body_framing::chunked);
  rec.append("partial");
  rec.abort();
  EXPECT_FALSE(rec.recording());
  EXPECT_FALSE(rec.over_cap());
  EXPECT_EQ(rec.finish("r", t0, 10s), nullptr);
}

TEST(ResponseRecorder, CappedAtMaxEntryBytesAlwaysFitsTheStore) {
  store_settings s;
  s.max_bytes = 64 * 1024;
  s.shards = 1;
  lru_store store(s);
  for (std::size_t body : {std::size_t{0}, std::size_t{100}, store.max_entry_bytes() / 2,
                           store.max_entry_bytes()}) {
    response_recorder rec(store.max_entry_bytes());
    rec.begin(200, body_framing::content_length);
    rec.add_header("content-type", "application/json");
    for (std::size_t sent = 0; sent < body; sent += 64) rec.append(std::string(std::min<std::size_t>(64, body - sent), 'z'));
    auto e = rec.finish("r", t0, 10s);
    if (!e) {
      EXPECT_TRUE(rec.over_cap()) << body;
      continue;
    }
    EXPECT_EQ(store.insert(test::key_of(static_cast<int>(body)), e, t0), lru_store::insert_result::stored) << body;
  }
  EXPECT_EQ(store.entries(), 3u);
}

}  // namespace
}  // namespace modelgate::cache
